"""The guarded reader (``autograder.intake``): what a submission can make the grader read.

Each row of the tables is one hostile or messy submission and the one outcome it must have: a
``SubmissionError`` with a clear message, or the entry skipped with a warning. Never a hang (every
test has a timeout), never a traceback, never a byte of a file the submission pointed at.
"""

from __future__ import annotations

import os
import shutil
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import intake
from autograder.intake import MAX_DEPTH, MAX_ENTRIES, MAX_FILES, MiB, read_submission
from autograder.submission import SubmissionError, load_source

pytestmark = pytest.mark.timeout(30)

ROOT = os.geteuid() == 0
SECRET = "TOPSECRET-intake-7781"
CODE = b"def sigmoid(z):\n    return z\n"


@pytest.fixture
def secret(tmp_path_factory) -> Path:
    """A 0600 file of the grader's, outside the submission (what a link would aim at)."""
    path = tmp_path_factory.mktemp("grader") / "bpgrade_secret"
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


@pytest.fixture(params=["dir_fd", "fallback"])
def walk(request, monkeypatch):
    """Both walks: POSIX (O_NOFOLLOW relative to dir fds) and the path-based one of Windows."""
    if request.param == "fallback":
        monkeypatch.setattr(intake, "posix_dir_fd", lambda: False)
    return request.param


_NESTS: list[Path] = []


@pytest.fixture(autouse=True)
def _remove_deep_trees():
    """Flatten the deep trees a test made: pytest's own cleanup (shutil.rmtree) would hit the
    recursion limit on them, at the end of every later session on this machine."""
    yield
    while _NESTS:
        base = _NESTS.pop()
        top, spare = base / "d", base / ".spare"
        while top.is_dir():
            if (top / "d").is_dir():
                os.rename(top / "d", spare)
            shutil.rmtree(top)
            if spare.exists():
                os.rename(spare, top)


def _nested(base: Path, depth: int, leaf: str = "nn.py") -> Path:
    """``base/d/d/.../d/leaf`` (``depth`` folders) made relative to dir fds: no PATH_MAX limit."""
    _NESTS.append(base)
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = sub
        leaf_fd = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf_fd, CODE)
        os.close(leaf_fd)
    finally:
        os.close(fd)
    return base


def _all_text(result) -> str:
    """Everything a reader result can show: warnings, keys and contents."""
    parts = [*result.warnings, *result.files, result.data.decode("utf-8", "replace")]
    parts += [v.decode("utf-8", "replace") for v in result.files.values()]
    return "\n".join(parts)


# --------------------------------------------------------------------------- refused outright


@dataclass
class Refused:
    name: str
    make: Callable[[Path, Path], Path]  # (tmp_path, secret) -> what is submitted
    fragment: str
    root_only: bool = False


def _fifo(tmp: Path, name: str = "nn.py") -> Path:
    os.mkfifo(tmp / name)
    return tmp / name


def _device(tmp: Path, name: str = "nn.py") -> Path:
    os.mknod(tmp / name, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero's numbers
    return tmp / name


def _link(tmp: Path, target: Path, name: str = "nn.py") -> Path:
    (tmp / name).symlink_to(target)
    return tmp / name


def _big(tmp: Path, size: int, name: str = "nn.py") -> Path:
    with open(tmp / name, "wb") as fh:
        fh.truncate(size)  # sparse: refused on its size, before a byte is read
    return tmp / name


def _folder(tmp: Path, files: dict[str, bytes]) -> Path:
    root = tmp / "sub"
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    root.mkdir(exist_ok=True)
    return root


def _many_entries(tmp: Path) -> Path:
    root = _folder(tmp, {"nn.py": CODE})
    for i in range(MAX_ENTRIES + 1):
        (root / f"x{i}.txt").touch()
    return root


REFUSED = [
    Refused("symlink main file", lambda t, s: _link(t, s), "symbolic link"),
    Refused("symlink to /dev/zero", lambda t, s: _link(t, Path("/dev/zero")), "symbolic link"),
    Refused("symlink to a folder", lambda t, s: _link(t, s.parent, "sub"), "symbolic link"),
    Refused("FIFO main file", lambda t, s: _fifo(t), "not a regular file"),
    Refused("device main file", lambda t, s: _device(t), "not a regular file", root_only=True),
    Refused("missing", lambda t, s: t / "nn.py", "not found"),
    Refused("empty main file", lambda t, s: _folder(t, {"nn.py": b""}) / "nn.py", "empty"),
    Refused("too large main file", lambda t, s: _big(t, 6 * MiB), "6 MiB; the limit is 5 MiB"),
    Refused("huge sparse file", lambda t, s: _big(t, 1 << 40), "the limit is 5 MiB"),
    Refused("not python", lambda t, s: _folder(t, {"nn.txt": CODE}) / "nn.txt", "unsupported"),
    Refused("empty folder", lambda t, s: _folder(t, {}), "no .py or .ipynb"),
    Refused(
        "only a symlinked nn.py in a folder",
        lambda t, s: _link(_folder(t, {"notes.txt": b"x"}), s).parent,
        "no .py or .ipynb file (skipped nn.py: a symbolic link",
    ),
    Refused(
        "only a FIFO nn.py in a folder",
        lambda t, s: _fifo(_folder(t, {})).parent,
        "skipped nn.py: not a regular file",
    ),
    Refused(
        "only a device nn.py in a folder",
        lambda t, s: _device(_folder(t, {})).parent,
        "skipped nn.py: not a regular file",
        root_only=True,
    ),
    Refused(
        "nn.py only at the bottom of 1000 folders",
        lambda t, s: _nested(_folder(t, {}), 1000),
        "nested more than 8 folders deep",
    ),
    Refused("too many entries", lambda t, s: _many_entries(t), f"more than {MAX_ENTRIES} entries"),
    Refused(
        "two candidates, neither grades",
        lambda t, s: _folder(t, {"a.py": b"x = 1\n", "b.py": b"y = 2\n"}),
        "several candidates (a.py, b.py)",
    ),
    Refused(
        "two candidates defining the same graded functions",
        lambda t, s: _folder(t, {"a.py": CODE, "b.py": CODE}),
        "several candidates",
    ),
    Refused(
        "main file too large in a folder",
        lambda t, s: _big(_folder(t, {}), 6 * MiB).parent,
        "nn.py is 6 MiB",
    ),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_refused_with_a_clear_message(case, tmp_path, secret, walk):
    if case.root_only and not ROOT:
        pytest.skip("mknod needs root")
    submitted = case.make(tmp_path, secret)
    with pytest.raises(SubmissionError) as info:
        load_source(submitted, functions={"sigmoid"})
    text = str(info.value)
    assert case.fragment in text
    assert SECRET not in text and str(secret) not in text
    text.encode("utf-8")  # printable in any report


def test_messages_follow_the_language(tmp_path):
    with pytest.raises(SubmissionError, match="是空文件"):
        load_source(_folder(tmp_path, {"nn.py": b""}), lang="zh")


# --------------------------------------------------------------------------- skipped with a warning


@dataclass
class Skipped:
    name: str
    make: Callable[[Path, Path], None]  # (folder, secret): add the entry to a good folder
    absent: str  # relative path that must not be read
    warning: str | None  # fragment of the warning (None: junk, skipped silently)
    root_only: bool = False


def _hard_link_of_another_user(folder: Path, secret: Path) -> None:
    os.chown(folder, 1234, 1234)  # the submission's owner is not the secret's
    os.link(secret, folder / "data.txt")


SKIPPED = [
    Skipped("symlink to a secret", lambda f, s: _link(f, s, "data.txt"), "data.txt", "symbolic"),
    Skipped("symlink to a folder", lambda f, s: _link(f, s.parent, "lib"), "lib", "symbolic"),
    Skipped(
        "symlink to /dev/zero",
        lambda f, s: _link(f, Path("/dev/zero"), "z.npy"),
        "z.npy",
        "symbolic",
    ),
    Skipped("FIFO helper", lambda f, s: _fifo(f, "utils.py"), "utils.py", "not a regular file"),
    Skipped("device", lambda f, s: _device(f, "z.npy"), "z.npy", "not a regular file", True),
    Skipped(
        "hard link to another user's file",
        _hard_link_of_another_user,
        "data.txt",
        "hard link",
        True,
    ),
    Skipped(
        "data file too large",
        lambda f, s: _big(f, 21 * MiB, "big.npy"),
        "big.npy",
        "larger than 20 MiB",
    ),
    Skipped(
        "helper too large",
        lambda f, s: _big(f, 6 * MiB, "utils.py"),
        "utils.py",
        "larger than 5 MiB",
    ),
    Skipped(
        "deep nesting",
        lambda f, s: _nested(f, 1000, "deep.py"),
        "d/" * MAX_DEPTH + "d",
        "nested more than 8",
    ),
    Skipped(
        "bytecode cache",
        lambda f, s: _folder(f.parent, {"__pycache__/nn.cpython-311.pyc": b"x"}),
        "__pycache__/nn.cpython-311.pyc",
        None,
    ),
    Skipped(
        "notebook checkpoints",
        lambda f, s: _folder(f.parent, {".ipynb_checkpoints/a-checkpoint.ipynb": b"{}"}),
        ".ipynb_checkpoints/a-checkpoint.ipynb",
        None,
    ),
    Skipped(
        "git folder",
        lambda f, s: _folder(f.parent, {".git/config": b"[core]"}),
        ".git/config",
        None,
    ),
    Skipped(
        "Finder junk", lambda f, s: _folder(f.parent, {".DS_Store": b"\0\0"}), ".DS_Store", None
    ),
]


@pytest.mark.parametrize("case", SKIPPED, ids=[c.name for c in SKIPPED])
def test_other_entries_are_skipped_and_the_rest_is_graded(case, tmp_path, secret, walk):
    if case.root_only and not ROOT:
        pytest.skip("needs root")
    folder = _folder(tmp_path, {"nn.py": CODE, "ex4data1.txt": b"1 2 3\n"})
    case.make(folder, secret)
    source = load_source(folder)
    assert source.code == CODE.decode() and source.files["ex4data1.txt"] == b"1 2 3\n"
    assert not any(k == case.absent or k.startswith(case.absent + "/") for k in source.files)
    if case.warning is None:
        assert source.warnings == []
    else:
        assert any(case.warning in w and case.absent.split("/")[0] in w for w in source.warnings)
    assert SECRET not in _all_text(read_submission(folder))


def test_a_file_swapped_for_a_fifo_after_the_check_is_not_read(tmp_path, monkeypatch):
    """The lstat says "regular file"; by the open it is a FIFO: the fstat refuses it, no hang."""
    folder = _folder(tmp_path, {"nn.py": CODE})
    _fifo(folder, "data.txt")
    real_lstat = intake._lstat

    def lying_lstat(parent, name):
        info = real_lstat(parent, name)
        if name != "data.txt":
            return info
        fields = list(info)
        fields[0] = stat.S_IFREG | 0o644
        return os.stat_result(fields)

    monkeypatch.setattr(intake, "_lstat", lying_lstat)
    writer = threading.Timer(5.0, lambda: open(folder / "data.txt", "wb").close())  # unblock a bug
    writer.start()
    try:
        result = read_submission(folder)
    finally:
        writer.cancel()
    assert "data.txt" not in result.files
    assert any("data.txt" in w and "cannot be read" in w for w in result.warnings)


# --------------------------------------------------------------------------- caps and names


def test_at_most_max_files_are_read_code_first(tmp_path, walk):
    files = {"nn.py": CODE, "utils.py": b"x = 1\n"}
    files |= {f"data/{i:03d}.txt": b"%d" % i for i in range(MAX_FILES + 10)}
    result = read_submission(_folder(tmp_path, files))
    assert len(result.files) == MAX_FILES - 1  # the main file counts
    assert "utils.py" in result.files
    assert any(f"at most {MAX_FILES} files" in w for w in result.warnings)


def test_total_size_is_capped_smallest_files_first(tmp_path, walk):
    files = {"nn.py": CODE, "small.txt": b"s"}
    files |= {f"part{i}.bin": b"\0" * (8 * MiB) for i in range(3)}
    result = read_submission(_folder(tmp_path, files))
    assert "small.txt" in result.files
    assert sum(map(len, result.files.values())) <= 20 * MiB
    assert len([k for k in result.files if k.startswith("part")]) == 2
    assert any("at most 20 MiB of files" in w for w in result.warnings)


def test_warnings_are_capped(tmp_path):
    folder = _folder(tmp_path, {"nn.py": CODE})
    for i in range(40):
        _fifo(folder, f"f{i}")
    warnings = read_submission(folder).warnings
    assert len(warnings) == intake.MAX_WARNINGS + 1 and "more entries were skipped" in warnings[-1]


@pytest.mark.parametrize(
    "raw_name",
    [b"\xc9\xf1\xbe\xad\xcd\xf8\xc2\xe7.py", b"nn\xff.py"],  # GBK "神经网络.py"; a stray byte
    ids=["gbk", "stray-byte"],
)
def test_non_utf8_names_are_read_under_a_safe_name(tmp_path, raw_name, walk):
    folder = _folder(tmp_path, {})
    with open(os.path.join(os.fsencode(folder), raw_name), "wb") as fh:
        fh.write(CODE)
    with open(os.path.join(os.fsencode(folder), b"data\xff.txt"), "wb") as fh:
        fh.write(b"42")
    source = load_source(folder)
    assert source.code == CODE.decode()
    assert list(source.files) == ["data\ufffd.txt"]
    assert any("not valid UTF-8" in w for w in source.warnings)
    for text in [*source.warnings, str(source.origin.name)]:
        text.encode("utf-8")  # no lone surrogates anywhere


def test_non_utf8_file_submitted_directly(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"\xd5\xc5\xce\xb0.py")  # GBK "张伟.py"
    with open(path, "wb") as fh:
        fh.write(CODE)
    source = load_source(os.fsdecode(path))
    assert source.code == CODE.decode()
    with pytest.raises(SubmissionError) as info:
        load_source(os.fsdecode(path[:-3] + b".txt"))
    str(info.value).encode("utf-8")


# --------------------------------------------------------------------------- choosing the main file


@pytest.mark.parametrize(
    ("files", "main"),
    [
        ({"nn.py": CODE, "utils.py": CODE}, "nn.py"),  # a preferred name wins
        ({"hw4.py": CODE, "utils.py": b"def helper():\n    pass\n"}, "hw4.py"),
        ({"hw4.py": b"def sigmoid(z): pass\ndef predict(): pass\n", "utils.py": CODE}, "hw4.py"),
        (
            {
                "mine.ipynb": b'{"cells": [{"source": ["def sigmoid(z):\\n"]}]}',
                "utils.py": b"x = 1\n",
            },
            "mine.ipynb",
        ),
        ({"only/deep/inside.py": CODE}, "only/deep/inside.py"),
    ],
    ids=[
        "preferred",
        "helper-defines-nothing",
        "more-graded-functions",
        "notebook-and-helper",
        "single",
    ],
)
def test_main_file_is_the_one_that_grades(tmp_path, files, main):
    result = read_submission(_folder(tmp_path, files), functions={"sigmoid", "predict"})
    assert result.main == main
    assert main.rsplit("/", 1)[-1] not in result.files


def test_other_files_are_keyed_from_the_main_files_folder(tmp_path):
    files = {
        "hw/nn.py": CODE,
        "hw/utils/__init__.py": b"",
        "hw/utils/act.py": b"x = 1\n",
        "hw/data/ex4data1.txt": b"1",
        "README.txt": b"outside",
    }
    result = read_submission(_folder(tmp_path, files))
    assert result.main == "hw/nn.py"
    assert sorted(result.files) == ["data/ex4data1.txt", "utils/__init__.py", "utils/act.py"]
    assert any("README.txt" in w and "outside the folder of hw/nn.py" in w for w in result.warnings)


# --------------------------------------------------------------------------- the harness contract


@pytest.mark.parametrize(
    "key",
    ["../x", "/etc/passwd", "a/../../x", "", "a//b", "./x", "a\\b", "a\0b", "x/" * 20 + "y"],
)
def test_files_mapping_refuses_unsafe_paths(key):
    with pytest.raises(ValueError, match="safe relative path"):
        intake.checked_files({key: b"x"})


def test_files_mapping_refuses_a_file_that_is_also_a_folder():
    with pytest.raises(ValueError, match="also a folder"):
        intake.checked_files({"a": b"1", "a/b.txt": b"2"})


def test_files_mapping_keeps_safe_paths():
    got = intake.checked_files({"a/b/c.txt": b"1", "utils.py": bytearray(b"2")})
    assert got == [(("a", "b", "c.txt"), b"1"), (("utils.py",), b"2")]


# --------------------------------------------------------------------------- a file and its folder


def test_a_file_alone_reads_no_sibling(tmp_path):
    """grade-all's flat layout: the files beside alice.py are other students'."""
    folder = _folder(tmp_path, {"alice.py": CODE, "bob.py": b"x = 1\n", "utils.py": b"y = 2\n"})
    assert read_submission(folder / "alice.py").files == {}


def test_a_file_with_its_siblings_reads_its_folder_guarded(tmp_path, secret, walk):
    """A student's self-check of nn.py: utils.py and the data beside it, by the same rules."""
    folder = _folder(tmp_path, {"nn.py": CODE, "utils.py": b"y = 2\n", "data/x.txt": b"1"})
    _link(folder, secret, "secret.txt")
    source = load_source(folder / "nn.py", siblings=True)
    assert source.code == CODE.decode()
    assert sorted(source.files) == ["data/x.txt", "utils.py"]
    assert any("secret.txt" in w and "symbolic link" in w for w in source.warnings)


def test_a_file_whose_folder_is_unreadable_as_a_whole_is_read_alone(tmp_path):
    folder = _many_entries(tmp_path)
    source = load_source(folder / "nn.py", siblings=True)
    assert source.code == CODE.decode() and source.files == {}
    assert any("only nn.py was read" in w and "entries" in w for w in source.warnings)


# --------------------------------------------------------------------------- anchored below a folder


def _course(tmp: Path) -> Path:
    """nbgrader's ``submitted/<student>/<assignment>/backprop.ipynb``, as a .py here."""
    _folder(tmp, {"submitted/eve/hw4/nn.py": CODE})
    return tmp / "sub" / "submitted"


@pytest.mark.parametrize(
    "link",
    ["eve", "eve/hw4", "eve/hw4/nn.py"],
    ids=["student folder", "assignment folder", "the file"],
)
def test_no_link_is_followed_below_the_anchor(tmp_path, secret, walk, link):
    base = _course(tmp_path)
    elsewhere = secret.parent / "elsewhere"
    _folder(elsewhere, {"eve/hw4/nn.py": SECRET.encode()})
    decoy = elsewhere / "sub"
    if (base / link).is_dir():
        shutil.rmtree(base / link)
    else:
        (base / link).unlink()
    (base / link).symlink_to(decoy / link)
    with pytest.raises(SubmissionError) as info:
        read_submission(base / "eve" / "hw4" / "nn.py", beneath=base)
    assert "symbolic link" in str(info.value) and SECRET not in str(info.value)
    with pytest.raises(SubmissionError):
        read_submission(base / "eve" / "hw4", beneath=base)


def test_an_anchored_read_reads_what_is_there(tmp_path, walk):
    base = _course(tmp_path)
    assert read_submission(base / "eve" / "hw4" / "nn.py", beneath=base).data == CODE
    assert read_submission(base / "eve" / "hw4", beneath=base).data == CODE
    assert read_submission(base / "eve" / "hw4", beneath=base / "eve" / "hw4").data == CODE


@pytest.mark.parametrize("where", ["../outside.py", "missing/nn.py"])
def test_an_anchored_read_stays_below_its_anchor(tmp_path, where):
    base = _course(tmp_path)
    (base.parent / "outside.py").write_bytes(CODE)
    with pytest.raises(SubmissionError, match="not found"):
        read_submission(base / where, beneath=base)


# --------------------------------------------------------------------------- fingerprints


def test_the_digest_notices_every_change_a_grading_would_see(tmp_path, secret):
    folder = _folder(tmp_path, {"nn.py": CODE, "data/x.txt": b"1"})
    seen = {intake.submission_digest(folder)}
    for change in (
        lambda: (folder / "data" / "x.txt").write_bytes(b"2"),
        lambda: (folder / "utils.py").write_bytes(b"y = 1\n"),
        lambda: _link(folder, secret, "secret.txt"),  # a new warning
        lambda: os.rename(folder / "utils.py", folder / "utils2.py"),
    ):
        change()
        digest = intake.submission_digest(folder)
        assert digest not in seen
        seen.add(digest)
    assert intake.submission_digest(folder) in seen  # and nothing else changes it


@pytest.mark.parametrize(
    "make",
    [
        lambda t, s: _fifo(t),
        lambda t, s: _fifo(_folder(t, {"nn.py": CODE}), "x.py").parent,
        lambda t, s: _link(t, Path("/proc"), "sub"),
        lambda t, s: _link(_folder(t, {"nn.py": CODE}), Path("/usr"), "usr").parent,
        lambda t, s: _link(t, s),
        lambda t, s: _nested(_folder(t, {}), 1000),
        lambda t, s: _many_entries(t),
        lambda t, s: t / "missing.py",
    ],
    ids=[
        "fifo",
        "fifo inside",
        "link to /proc",
        "link to /usr inside",
        "link to the secret",
        "1000 deep",
        "too many entries",
        "missing",
    ],  # fmt: skip
)
def test_the_digest_never_blocks_follows_or_recurses(tmp_path, secret, walk, make, monkeypatch):
    submitted = make(tmp_path, secret)
    opened: list[str] = []
    real_open = os.open

    def watch(path, *args, **kwargs):
        fd = real_open(path, *args, **kwargs)
        opened.append(os.readlink(f"/proc/self/fd/{fd}"))  # what was really opened
        return fd

    monkeypatch.setattr(os, "open", watch)
    first = intake.submission_digest(submitted)
    assert intake.submission_digest(submitted) == first
    assert opened == [] or all(p.startswith(str(tmp_path)) for p in opened), opened


def test_the_digest_reads_at_most_what_a_grading_reads(tmp_path, monkeypatch):
    files = {"nn.py": CODE}
    files |= {f"data/{i:02d}.bin": os.urandom(MiB) for i in range(40)}
    folder = _folder(tmp_path, files)
    read = [0]
    real_read = os.read

    def counting(fd, n):
        chunk = real_read(fd, n)
        read[0] += len(chunk)
        return chunk

    monkeypatch.setattr(os, "read", counting)
    intake.submission_digest(folder)
    assert read[0] <= intake.MAX_TOTAL_BYTES + intake.MAX_SOURCE_BYTES + 64


def test_sparse_files_are_digested_without_reading_them(tmp_path, monkeypatch):
    folder = _folder(tmp_path, {"nn.py": CODE})
    for i in range(200):
        _big(folder, 4 * MiB, f"data{i:03d}.npy")
    read = [0]
    real_read = os.read

    def counting(fd, n):
        chunk = real_read(fd, n)
        read[0] += len(chunk)
        return chunk

    monkeypatch.setattr(os, "read", counting)
    intake.submission_digest(folder)
    assert read[0] < MiB


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("alice", "alice"),
        ("张伟", "张伟"),
        (os.fsdecode("张伟".encode("gbk")), "\\xd5\\xc5ΰ"),
        (os.fsdecode(b"nn\xff.py"), "nn\\xff.py"),
        ("a\ud800b", "a\\xed\\xa0\\x80b"),  # a lone surrogate from JSON metadata
        (b"\xc9\xf1.py", "\\xc9\\xf1.py"),
    ],
)
def test_escaped_names_are_utf8_and_keep_names_apart(name, shown):
    assert intake.escaped(name) == shown
    shown.encode("utf-8")
