"""The child's Python interpreter: discovery, probing, and ``bpgrade setup``.

Student code runs under an unprivileged uid, so its interpreter (and numpy) must be readable by
that uid. A grader interpreter under ``/root`` (pyenv, mode 0700) is not, hence the dedicated
venv ``/opt/bpgrade/child`` that :func:`setup_child_runtime` creates.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.files import write_atomic

DEFAULT_CHILD_PREFIX = "/opt/bpgrade/child"
ENV_VAR = "BPGRADE_CHILD_PYTHON"
# What student code may import: numpy, and scipy (scipy.special.expit is a common sigmoid).
CHILD_PACKAGES = ("numpy>=1.26", "scipy>=1.11")
CHILD_IMPORTABLE = ("numpy", "numpy.libs", "scipy", "scipy.libs")


class RuntimeSetupError(RuntimeError):
    """No usable interpreter for the child; the message says what to do."""


@dataclass(frozen=True)
class ChildRuntime:
    """What the sandbox needs to know about the child's interpreter.

    Parameters
    ----------
    python : str
        Path of the interpreter to execute.
    version : str
        ``major.minor.micro``.
    numpy_version : str
    numpy_dir : str
        The ``numpy`` package directory.
    site_dir : str
        Directory holding ``numpy`` (added to the worker's ``sys.path``).
    stdlib_paths : list of str
        ``sys.path`` under ``-I -S`` (standard library only).
    site_dirs : list of str
        Every site-packages directory the interpreter would normally use (masked in bwrap).
    prefixes : list of str
        Real paths of the interpreter's prefixes (bound read-only in bwrap).
    """

    python: str
    version: str
    numpy_version: str
    numpy_dir: str
    site_dir: str
    stdlib_paths: list[str] = field(default_factory=list)
    site_dirs: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)

    @property
    def package_dirs(self) -> list[str]:
        """The only site-packages entries the child may see: numpy and scipy with their libs."""
        found = [os.path.join(self.site_dir, name) for name in CHILD_IMPORTABLE]
        return [self.numpy_dir] + [p for p in found[1:] if os.path.isdir(p)]


# find_spec + metadata instead of importing numpy: the probe runs on every grader start.
_PROBE = r"""
import importlib.metadata, importlib.util, json, os, site, sys
spec = importlib.util.find_spec("numpy")
if spec is None or not spec.origin:
    raise SystemExit("numpy is not installed for this interpreter")
try:
    numpy_version = importlib.metadata.version("numpy")
except Exception:
    numpy_version = "unknown"
out = {
    "version": "%d.%d.%d" % sys.version_info[:3],
    "numpy_version": numpy_version,
    "numpy_dir": os.path.dirname(os.path.realpath(spec.origin)),
    "site_dirs": [os.path.realpath(p) for p in site.getsitepackages() + sys.path
                  if p and ("site-packages" in p or "dist-packages" in p)],
    "prefixes": sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                        sys.exec_prefix, sys.base_exec_prefix)}),
}
print(json.dumps(out))
"""
_PROBE_STDLIB = (
    "import json, os, sys; print(json.dumps([os.path.realpath(p) for p in sys.path if p]))"
)


def _others_can(path: str, bits: int) -> bool:
    try:
        return bool(os.stat(path).st_mode & bits == bits)
    except OSError:
        return False


def readable_by_others(path: str | os.PathLike[str]) -> bool:
    """True if an unrelated uid (no shared group) can reach and read ``path``.

    Parameters
    ----------
    path : path-like
        A file or directory; symlinks are resolved and every ancestor must be searchable.

    Returns
    -------
    bool
    """
    real = Path(os.path.realpath(path))
    for parent in reversed(real.parents):
        if not _others_can(str(parent), stat.S_IXOTH):
            return False
    need = stat.S_IROTH | (stat.S_IXOTH if real.is_dir() else 0)
    return _others_can(str(real), need)


def find_child_python(*, dropping_privileges: bool | None = None) -> str:
    """Choose the child's interpreter.

    Order: ``$BPGRADE_CHILD_PYTHON``, ``/opt/bpgrade/child/bin/python``, then the grader's own
    interpreter if the slot uid can read it (or if no uid drop will happen).

    Parameters
    ----------
    dropping_privileges : bool, optional
        Whether the child will run under another uid; defaults to "the grader is root".

    Returns
    -------
    str

    Raises
    ------
    RuntimeSetupError
        No readable interpreter; the message says to run ``bpgrade setup``.
    """
    if dropping_privileges is None:
        dropping_privileges = os.geteuid() == 0
    override = os.environ.get(ENV_VAR)
    if override:
        return override
    default = os.path.join(DEFAULT_CHILD_PREFIX, "bin", "python")
    if os.path.exists(default):
        return default
    if not dropping_privileges or readable_by_others(sys.executable):
        prefix_ok = not dropping_privileges or readable_by_others(sys.base_prefix)
        if prefix_ok:
            return sys.executable
    raise RuntimeSetupError(
        f"no Python interpreter readable by the sandbox uid: {sys.executable} is not "
        f"world-readable. Run `bpgrade setup` (as root) to create {DEFAULT_CHILD_PREFIX}, "
        f"or set {ENV_VAR} to a world-readable python3 with numpy."
    )


def private_dir() -> str:
    """The grader's private state directory (slot locks, probe cache): 0700, owned by the grader.

    Returns
    -------
    str

    Raises
    ------
    RuntimeSetupError
        The directory exists but someone else could write to it.
    """
    base = "/run" if os.access("/run", os.W_OK) else tempfile.gettempdir()
    path = os.path.join(base, f"bpgrade-slots-{os.geteuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise RuntimeSetupError(f"{path} is not private to the grader")
    return path


def runtime_cache_key(python: str) -> list[object]:
    """What invalidates a cached probe: the interpreter binary and pyvenv.cfg."""
    real = os.path.realpath(python)
    key: list[object] = [python, real, os.stat(real).st_mtime_ns]
    cfg = os.path.join(os.path.dirname(os.path.dirname(python)), "pyvenv.cfg")
    key.append(os.stat(cfg).st_mtime_ns if os.path.exists(cfg) else 0)
    return key


def _cached_probe(python: str) -> dict[str, Any] | None:
    try:
        path = os.path.join(
            private_dir(), "runtime-" + hashlib.sha256(python.encode()).hexdigest()[:16] + ".json"
        )
        with open(path) as fh:
            data = json.load(fh)
        if data.get("key") == runtime_cache_key(python) and os.path.isdir(
            data["info"]["numpy_dir"]
        ):
            return data
    except (OSError, ValueError, KeyError, TypeError, RuntimeSetupError):
        pass
    return None


def _store_probe(python: str, info: dict[str, Any], stdlib: list[str]) -> None:
    try:
        path = os.path.join(
            private_dir(), "runtime-" + hashlib.sha256(python.encode()).hexdigest()[:16] + ".json"
        )
        write_atomic(
            path, json.dumps({"key": runtime_cache_key(python), "info": info, "stdlib": stdlib})
        )
    except (OSError, RuntimeSetupError):
        pass


@functools.lru_cache(maxsize=8)
def probe_runtime(python: str) -> ChildRuntime:
    """Ask the interpreter where its stdlib and numpy live (run as the grader, cached).

    Parameters
    ----------
    python : str

    Returns
    -------
    ChildRuntime

    Raises
    ------
    RuntimeSetupError
        The interpreter does not start or cannot import numpy.
    """
    cached = _cached_probe(python)
    if cached is not None:  # saves two interpreter start-ups per grader process
        info, stdlib = cached["info"], cached["stdlib"]
    else:
        env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "HOME": "/nonexistent"}
        try:
            info = json.loads(_run([python, "-I", "-c", _PROBE], env))
            stdlib = json.loads(_run([python, "-I", "-S", "-c", _PROBE_STDLIB], env))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise RuntimeSetupError(
                f"child interpreter {python} is unusable ({exc}); run `bpgrade setup` "
                f"or set {ENV_VAR} to a python3 with numpy."
            ) from None
        _store_probe(python, info, stdlib)
    return ChildRuntime(
        python=python,
        version=info["version"],
        numpy_version=info["numpy_version"],
        numpy_dir=info["numpy_dir"],
        site_dir=os.path.dirname(info["numpy_dir"]),
        stdlib_paths=stdlib,
        site_dirs=sorted(set(info["site_dirs"])),
        prefixes=info["prefixes"],
    )


def _run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, check=False)
    if proc.returncode != 0:
        raise subprocess.SubprocessError(proc.stderr.strip()[-300:] or f"exit {proc.returncode}")
    return proc.stdout


# --------------------------------------------------------------------------- bpgrade setup


def _base_python() -> str:
    """The best world-readable system python3 (>= 3.10) to build the child venv from."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3", shutil.which("python3") or ""):
        if candidate and os.path.exists(candidate) and readable_by_others(candidate):
            try:
                out = _run(
                    [candidate, "-I", "-c", "import sys; print(sys.version_info >= (3, 10))"]
                )
            except (OSError, subprocess.SubprocessError):
                continue
            if out.strip() == "True":
                return candidate
    raise RuntimeSetupError("no world-readable python3 >= 3.10 found (install Debian's python3)")


def _apt_install(packages: list[str], log: list[str]) -> None:
    if shutil.which("apt-get") is None:
        raise RuntimeSetupError(f"apt-get not found; install {' '.join(packages)} by hand")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update"], check=True, env=env, capture_output=True)
    subprocess.run(
        ["apt-get", "install", "-y", *packages], check=True, env=env, capture_output=True
    )
    log.append(f"apt-get install {' '.join(packages)}")


def _child_ok(python: str) -> bool:
    try:
        _run([python, "-I", "-c", "import numpy, scipy.special"])
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def setup_child_runtime(
    path: str = DEFAULT_CHILD_PREFIX,
    *,
    install_bwrap: bool = True,
    packages: tuple[str, ...] = CHILD_PACKAGES,
) -> list[str]:
    """Create (idempotently) the world-readable child venv and install bubblewrap.

    Parameters
    ----------
    path : str
        Venv location.
    install_bwrap : bool
        Install Debian's ``bubblewrap`` with apt-get when missing.
    packages : tuple of str
        pip requirements of the child (numpy and scipy).

    Returns
    -------
    list of str
        Human-readable log of what was done.

    Raises
    ------
    RuntimeSetupError
        Not root, or no suitable base interpreter.
    """
    if os.geteuid() != 0:
        raise RuntimeSetupError("bpgrade setup must run as root (it creates /opt/bpgrade/child)")
    log: list[str] = []
    if install_bwrap and shutil.which("bwrap") is None:
        _apt_install(["bubblewrap"], log)
    python = os.path.join(path, "bin", "python")
    if _child_ok(python):
        log.append(f"{path} already has numpy and scipy")
    else:
        base = _base_python()
        if not os.path.exists(python):
            if subprocess.run([base, "-m", "venv", path], capture_output=True).returncode != 0:
                _apt_install(["python3-venv"], log)
                subprocess.run([base, "-m", "venv", path], check=True, capture_output=True)
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                *packages,
            ],
            check=True,
            capture_output=True,
        )
        log.append(f"created {path} from {base} with {' '.join(packages)}")
    subprocess.run(["chmod", "-R", "a+rX,go-w", path], check=True)
    probe_runtime.cache_clear()
    return log
