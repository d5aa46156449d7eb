"""The child's Python interpreter: discovery, probing, and ``bpgrade setup``.

Student code runs under an unprivileged uid, so its interpreter (and numpy) must be readable by
that uid. A grader interpreter under ``/root`` (pyenv, mode 0700) is not, hence the dedicated
venv ``/opt/bpgrade/child`` that :func:`setup_child_runtime` creates.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import inspect
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
from autograder.spec import BASE_PACKAGES, RuntimeSpec, SpecError, distribution_name, load_spec

DEFAULT_CHILD_PREFIX = "/opt/bpgrade/child"
ENV_VAR = "BPGRADE_CHILD_PYTHON"
#: What every child runtime has, whatever the spec says: the worker itself needs numpy.
CHILD_PACKAGES = BASE_PACKAGES
#: Written by ``bpgrade setup`` into the runtime's prefix: what the runtime provides (see
#: :func:`runtime_manifest`).
MANIFEST = "bpgrade-runtime.json"
#: Inside the runtime's prefix: a matplotlib config dir with a prebuilt font cache (read-only).
MPLCONFIG = "mplconfig"
#: The grader's own packages: never provided, never stood in for by a placeholder.
GRADER_MODULES = frozenset({"autograder", "bpnet_ref"})
_SITE_GLOBS = (
    "lib/python3*/site-packages",
    "lib/python3*/dist-packages",
    "lib/python3/dist-packages",
    "local/lib/python3*/dist-packages",
)


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
    provided : list of str
        Every site-packages entry (package directory, module file, bundled ``.libs``, metadata)
        of the provided distributions and their dependencies: all the child may see there.
    modules : list of str
        Import names the runtime provides, as the spec's ``[runtime] modules`` (for feedback).
    env : dict of str to str
        Environment of the child beyond the sandbox's own (``[runtime] env``).
    mplconfig : str or None
        A matplotlib config dir with a prebuilt font cache, made by ``bpgrade setup``.
    missing : list of str
        Requested distributions that are not installed (``bpgrade setup`` installs them).
    magic : str
        The interpreter's bytecode magic number, in hex (which ``.pyc`` it can run).
    """

    python: str
    version: str
    numpy_version: str
    numpy_dir: str
    site_dir: str
    stdlib_paths: list[str] = field(default_factory=list)
    site_dirs: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    provided: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    mplconfig: str | None = None
    missing: list[str] = field(default_factory=list)
    magic: str = ""

    @property
    def package_dirs(self) -> list[str]:
        """The only site-packages entries the child may see: the provided packages and their
        dependencies (with their bundled libraries), numpy at least."""
        return self.provided or [self.numpy_dir]

    @functools.cached_property
    def importable(self) -> list[str]:
        """Top-level module names the child may import from its site-packages."""
        return importable_names(self.package_dirs)

    @property
    def package_sites(self) -> list[str]:
        """The site-packages directories holding the provided entries (the child's import path)."""
        sites = {os.path.dirname(p) for p in self.package_dirs}
        sites = {os.path.dirname(s) if os.path.basename(s) == "__pycache__" else s for s in sites}
        return [self.site_dir] + sorted(sites - {self.site_dir})


def provided_entries(wanted: list[str]) -> dict[str, list[str]]:
    """The site-packages entries of the distributions ``wanted`` and of their dependencies.

    Read from this interpreter's metadata: each distribution's RECORD (its package directories,
    single-file modules, bundled ``.libs``, metadata), following ``Requires-Dist`` without extras.
    Self-contained: :func:`_probe_script` runs its source in the child's interpreter, and the local tier
    runs it in the grader's own.

    Parameters
    ----------
    wanted : list of str
        Distribution names (``"scikit-learn"``).

    Returns
    -------
    dict
        ``provided`` (absolute paths), ``missing`` (wanted but not installed), ``sites`` (every
        directory holding an installed distribution, provided or not).
    """
    import importlib.metadata as md
    import os
    import re

    def norm(name):
        return re.sub(r"[-_.]+", "-", name).lower()

    try:
        from packaging.markers import Marker
    except ImportError:
        try:
            from pip._vendor.packaging.markers import Marker
        except ImportError:
            Marker = None

    def needed(marker):
        marker = marker.strip()
        if not marker:
            return True
        if Marker is not None:
            try:
                return Marker(marker).evaluate({"extra": ""})
            except Exception:  # noqa: BLE001 - an odd marker: fall back to the rule below
                pass
        return "extra" not in marker

    dists, sites = {}, set()
    for dist in md.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            dists.setdefault(norm(name), dist)
            sites.add(os.path.realpath(str(dist.locate_file(""))))
    wanted = [norm(w) for w in wanted]
    todo, seen, missing, provided = list(wanted), set(), [], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        dist = dists.get(name)
        if dist is None:
            if name in wanted:
                missing.append(name)
            continue
        for req in dist.requires or ():
            head, _, marker = req.partition(";")
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", head)
            if match and needed(marker):
                todo.append(norm(match.group(1)))
        base = os.path.realpath(str(dist.locate_file("")))
        files = dist.files
        if files:
            for f in files:
                parts = f.parts
                if not parts or parts[0] == ".." or os.path.isabs(str(f)):
                    continue
                top = parts[:2] if parts[0] == "__pycache__" else parts[:1]
                provided.add(os.path.join(base, *top))
        else:  # no RECORD (a distribution packaged by the OS): its top-level names
            names = (dist.read_text("top_level.txt") or "").split() or [name.replace("-", "_")]
            for top in names:
                for entry in (top, top + ".py", top + ".libs"):
                    provided.add(os.path.join(base, entry))
            if getattr(dist, "_path", None):
                provided.add(os.path.realpath(str(dist._path)))
    return {
        "provided": sorted(p for p in provided if os.path.lexists(p)),
        "missing": sorted(missing),
        "sites": sorted(sites),
    }


def importable_names(entries: list[str]) -> list[str]:
    """Top-level module names among site-packages entries (packages and single-file modules)."""
    names = set()
    for path in entries:
        base = os.path.basename(path)
        if os.path.basename(os.path.dirname(path)) == "__pycache__":
            continue
        if os.path.isdir(path):
            names.add(base)
        elif base.endswith((".py", ".so", ".pyd")):
            names.add(base.split(".", 1)[0])
    return sorted(n for n in names if n.isidentifier())


# find_spec + metadata instead of importing numpy: the probe runs once per runtime change (cached).
# argv[1]: the provided distributions (see provided_entries, whose source precedes it).
_PROBE_MAIN = r"""
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
    "magic": importlib.util.MAGIC_NUMBER.hex(),
    "numpy_version": numpy_version,
    "numpy_dir": os.path.dirname(os.path.realpath(spec.origin)),
    "site_dirs": [os.path.realpath(p) for p in site.getsitepackages() + sys.path
                  if p and ("site-packages" in p or "dist-packages" in p)],
    "prefixes": sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix,
                        sys.exec_prefix, sys.base_exec_prefix)}),
}
out.update(provided_entries(json.loads(sys.argv[1]) if len(sys.argv) > 1 else ["numpy"]))
print(json.dumps(out))
"""


@functools.lru_cache(maxsize=1)
def _probe_script() -> str:
    """The probe run in the child's interpreter: :func:`provided_entries`, then the facts."""
    return inspect.getsource(provided_entries) + _PROBE_MAIN


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


def _prefix(python: str) -> str:
    """The prefix a ``bin/python`` belongs to (a venv's own directory, not its base's)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(python)))


def _site_dirs_on_disk(python: str) -> list[str]:
    """The site-packages directories of ``python`` found without running it (for cache keys)."""
    found: set[str] = set()
    for prefix in {_prefix(python), _prefix(os.path.realpath(python))}:
        for pattern in _SITE_GLOBS:
            found.update(os.path.realpath(p) for p in glob.glob(os.path.join(prefix, pattern)))
    return sorted(p for p in found if os.path.isdir(p))


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def runtime_cache_key(python: str) -> list[object]:
    """What invalidates a cached probe or tier choice: the interpreter binary, pyvenv.cfg, the
    runtime's manifest, and its site-packages directories (a package added or removed changes
    their modification time)."""
    real = os.path.realpath(python)
    key: list[object] = [python, real, os.stat(real).st_mtime_ns]
    cfg = os.path.join(os.path.dirname(os.path.dirname(python)), "pyvenv.cfg")
    key.append(os.stat(cfg).st_mtime_ns if os.path.exists(cfg) else 0)
    key.append(_mtime(os.path.join(_prefix(python), MANIFEST)))
    key += [[site, _mtime(site)] for site in _site_dirs_on_disk(python)]
    return key


def runtime_manifest(python: str) -> dict[str, Any]:
    """What the runtime of ``python`` provides: its ``bpgrade-runtime.json``, else the default
    spec's ``[runtime]`` (a runtime ``bpgrade setup`` did not make, e.g. the grader's own).

    Parameters
    ----------
    python : str

    Returns
    -------
    dict
        ``packages`` (pip requirements), ``modules`` (import names), ``env``, ``mplconfig``.
    """
    try:
        with open(os.path.join(_prefix(python), MANIFEST), encoding="utf-8") as fh:
            data = json.load(fh)
        runtime = RuntimeSpec(
            tuple(data["packages"]), tuple(data.get("modules", ())), dict(data.get("env", {}))
        )
        mplconfig = data.get("mplconfig")
    except (OSError, ValueError, KeyError, TypeError, SpecError):
        try:
            runtime = load_spec().runtime
        except SpecError:
            runtime = RuntimeSpec()
        mplconfig = None
    return {
        "packages": list(runtime.packages),
        "modules": list(runtime.modules),
        "env": dict(runtime.env),
        "mplconfig": mplconfig if isinstance(mplconfig, str) and os.path.isdir(mplconfig) else None,
    }


def _probe_cache_path(python: str) -> str:
    name = "runtime-" + hashlib.sha256(python.encode()).hexdigest()[:16] + ".json"
    return os.path.join(private_dir(), name)


def _cached_probe(python: str, manifest: dict[str, Any]) -> dict[str, Any] | None:
    try:
        with open(_probe_cache_path(python)) as fh:
            data = json.load(fh)
        key = [runtime_cache_key(python), manifest]
        info = data["info"]  # a probe made before "magic" was asked for is made again
        if data.get("key") == key and os.path.isdir(info["numpy_dir"]) and "magic" in info:
            return data
    except (OSError, ValueError, KeyError, TypeError, RuntimeSetupError):
        pass
    return None


def _store_probe(
    python: str, manifest: dict[str, Any], info: dict[str, Any], stdlib: list[str]
) -> None:
    try:
        key = [runtime_cache_key(python), manifest]
        write_atomic(
            _probe_cache_path(python), json.dumps({"key": key, "info": info, "stdlib": stdlib})
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
    manifest = runtime_manifest(python)
    cached = _cached_probe(python, manifest)
    if cached is not None:  # saves two interpreter start-ups per grader process
        info, stdlib = cached["info"], cached["stdlib"]
    else:
        env = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "HOME": "/nonexistent"}
        wanted = json.dumps([distribution_name(p) for p in manifest["packages"]])
        try:
            info = json.loads(_run([python, "-I", "-c", _probe_script(), wanted], env))
            stdlib = json.loads(_run([python, "-I", "-S", "-c", _PROBE_STDLIB], env))
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            raise RuntimeSetupError(
                f"child interpreter {python} is unusable ({exc}); run `bpgrade setup` "
                f"or set {ENV_VAR} to a python3 with numpy."
            ) from None
        _store_probe(python, manifest, info, stdlib)
    return ChildRuntime(
        python=python,
        version=info["version"],
        numpy_version=info["numpy_version"],
        numpy_dir=info["numpy_dir"],
        site_dir=os.path.dirname(info["numpy_dir"]),
        stdlib_paths=stdlib,
        site_dirs=sorted(set(info["site_dirs"])),
        prefixes=info["prefixes"],
        provided=list(info.get("provided", [])),
        modules=manifest["modules"],
        env=manifest["env"],
        mplconfig=manifest["mplconfig"],
        missing=list(info.get("missing", [])),
        magic=str(info.get("magic", "")),
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


# Which of argv[1]'s requirements the child's installed distributions do not satisfy.
_UNSATISFIED = r"""
import importlib.metadata as md, json, sys
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
out = []
for text in json.loads(sys.argv[1]):
    req = Requirement(text)
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        out.append(text)
        continue
    if not req.specifier.contains(version, prereleases=True):
        out.append(text)
print(json.dumps(out))
"""
_SETUP_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "OPENBLAS_NUM_THREADS": "1"}


def _unsatisfied(python: str, packages: tuple[str, ...]) -> list[str]:
    """The requirements ``python`` lacks (all of them if it cannot even tell)."""
    if not os.path.exists(python):
        return list(packages)
    try:
        return json.loads(_run([python, "-I", "-c", _UNSATISFIED, json.dumps(packages)]))
    except (OSError, ValueError, subprocess.SubprocessError):
        return list(packages)


def _check_imports(python: str, modules: list[str], env: dict[str, str]) -> None:
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)"
    try:
        _run([python, "-I", "-c", code, *modules], {**_SETUP_ENV, **env})
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeSetupError(f"the child runtime cannot import {modules}: {exc}") from None


def _build_mplconfig(python: str, prefix: str, log: list[str]) -> str:
    """A matplotlib config dir with the Agg backend and a prebuilt font cache.

    Inside the sandbox nothing can be written, so matplotlib could neither build its font cache
    (seconds at every import) nor create a config dir (an error at import). The sandbox shows
    this directory's files in a directory that looks writable (see ``Sandbox``).
    """
    target = os.path.join(prefix, MPLCONFIG)
    os.makedirs(target, exist_ok=True)
    write_atomic(os.path.join(target, "matplotlibrc"), "backend: Agg\n")
    code = "import matplotlib.pyplot, matplotlib.font_manager as fm; fm.fontManager.ttflist"
    env = {**_SETUP_ENV, "MPLCONFIGDIR": target, "MPLBACKEND": "Agg"}
    try:
        _run([python, "-I", "-c", code], env)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeSetupError(f"matplotlib's font cache could not be built: {exc}") from None
    log.append(f"built matplotlib's font cache in {target}")
    return target


def setup_child_runtime(
    path: str = DEFAULT_CHILD_PREFIX,
    *,
    install_bwrap: bool = True,
    runtime: RuntimeSpec | None = None,
) -> list[str]:
    """Create or complete (idempotently) the world-readable child venv; install bubblewrap.

    Installs what the spec's ``[runtime]`` table provides that the venv lacks (a rerun after the
    spec gained a package adds just that), builds matplotlib's font cache where matplotlib is
    provided, and records what the runtime provides in its manifest (:data:`MANIFEST`), which
    decides what the sandbox shows student code.

    Parameters
    ----------
    path : str
        Venv location.
    install_bwrap : bool
        Install Debian's ``bubblewrap`` with apt-get when missing.
    runtime : RuntimeSpec, optional
        What to provide; default the bundled homework's ``[runtime]``.

    Returns
    -------
    list of str
        Human-readable log of what was done.

    Raises
    ------
    RuntimeSetupError
        Not root, no suitable base interpreter, or a provided module does not import.
    """
    if os.geteuid() != 0:
        raise RuntimeSetupError("bpgrade setup must run as root (it creates /opt/bpgrade/child)")
    runtime = runtime or load_spec().runtime
    log: list[str] = []
    if install_bwrap and shutil.which("bwrap") is None:
        _apt_install(["bubblewrap"], log)
    python = os.path.join(path, "bin", "python")
    if not os.path.exists(python):
        base = _base_python()
        if subprocess.run([base, "-m", "venv", path], capture_output=True).returncode != 0:
            _apt_install(["python3-venv"], log)
            subprocess.run([base, "-m", "venv", path], check=True, capture_output=True)
        log.append(f"created {path} from {base}")
    lacking = _unsatisfied(python, runtime.packages)
    if lacking:
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--no-cache-dir",
                "--disable-pip-version-check",
                *lacking,
            ],
            check=True,
            capture_output=True,
        )
        log.append(f"installed {' '.join(lacking)} into {path}")
    else:
        log.append(f"{path} already has {' '.join(runtime.packages)}")
    _check_imports(python, list(runtime.modules), runtime.env)
    mplconfig = None
    if "matplotlib" in runtime.distributions:
        mplconfig = _build_mplconfig(python, path, log)
    manifest = {
        "packages": list(runtime.packages),
        "modules": list(runtime.modules),
        "env": dict(runtime.env),
        "mplconfig": mplconfig,
    }
    write_atomic(os.path.join(path, MANIFEST), json.dumps(manifest, indent=2) + "\n")
    subprocess.run(["chmod", "-R", "a+rX,go-w", path], check=True)
    probe_runtime.cache_clear()
    return log
