"""Finding one submission per student: flat folders, rosters, nbgrader trees, odd names."""

from __future__ import annotations

import os
import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from autograder.batch.discover import (
    FLAT,
    NBGRADER,
    DiscoveryError,
    discover,
    read_roster,
    shown_id,
    student_slug,
)


def _ids(found):
    return {s.student_id: s for s in found.submissions}


def test_flat_layout_files_and_folders(tmp_path):
    (tmp_path / "alice.py").write_text("x = 1\n")
    (tmp_path / "bob.ipynb").write_text("{}")
    (tmp_path / "carol.smith").mkdir()
    (tmp_path / "carol.smith" / "nn.py").write_text("x = 1\n")
    (tmp_path / ".DS_Store").write_text("")
    (tmp_path / "__MACOSX").mkdir()
    found = discover(tmp_path)
    assert found.layout == FLAT
    assert sorted(_ids(found)) == ["alice", "bob", "carol.smith"]
    assert all(s.problem is None and not s.missing for s in found.submissions)


def test_two_files_for_one_student_is_one_error_entry(tmp_path):
    (tmp_path / "alice.py").write_text("x = 1\n")
    (tmp_path / "alice.ipynb").write_text("{}")
    (sub,) = discover(tmp_path).submissions
    assert sub.student_id == "alice"
    assert "several submissions" in sub.problem


def test_symlinks_are_refused(tmp_path):
    target = tmp_path.parent / f"{tmp_path.name}-secret.txt"
    target.write_text("secret")
    (tmp_path / "mallory.py").symlink_to(target)
    (tmp_path / "trudy").symlink_to(tmp_path.parent)
    subs = _ids(discover(tmp_path))
    assert "symbolic link" in subs["mallory"].problem
    assert "symbolic link" in subs["trudy"].problem


def test_what_a_folder_holds_is_left_to_the_guarded_reader(tmp_path):
    """Discovery never walks a student's folder: a link or a deep tree inside is intake's to
    skip (with a warning) when the folder is graded, so it cannot block or crash discovery."""
    (tmp_path / "trudy").mkdir()
    (tmp_path / "trudy" / "nn.py").write_text("x = 1\n")
    (tmp_path / "trudy" / "proc").symlink_to("/proc")
    assert _ids(discover(tmp_path))["trudy"].problem is None


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: os.mkfifo(p / "x.py"), "not a regular file"),
        (lambda p: (p / "x.py").symlink_to("x.py"), "symbolic link"),  # a loop
        (lambda p: (p / "x").symlink_to("/proc"), "symbolic link"),
        (lambda p: (p / "x").symlink_to("/usr"), "symbolic link"),
        (lambda p: (p / "x.py").symlink_to(p / "nowhere"), "symbolic link"),
    ],
    ids=["fifo", "link-loop", "link-to-proc", "link-to-usr", "dangling-link"],
)
def test_odd_entries_become_error_entries(tmp_path, make, fragment):
    (tmp_path / "alice.py").write_text("x = 1\n")
    make(tmp_path)
    subs = _ids(discover(tmp_path))
    assert subs["alice"].problem is None
    assert fragment in subs["x"].problem


def test_an_nbgrader_student_folder_that_is_a_link_is_an_error_entry(tmp_path):
    _nbgrader_tree(tmp_path)
    (tmp_path / "submitted" / "mallory").symlink_to(tmp_path / "submitted" / "alice")
    (tmp_path / "submitted" / "trudy" / "hw4").mkdir(parents=True)
    (tmp_path / "submitted" / "eve").mkdir()
    (tmp_path / "submitted" / "eve" / "hw4").symlink_to("/usr")
    ids = _ids(discover(tmp_path))
    assert "symbolic link" in ids["mallory"].problem
    assert "symbolic link" in ids["eve"].problem
    assert ids["alice"].problem is None and ids["trudy"].problem is None


def test_a_non_utf8_file_name_is_one_student(tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), "张伟".encode("gbk") + b".py")
    with open(raw, "wb") as fh:
        fh.write(b"x = 1\n")
    (sub,) = discover(tmp_path).submissions
    assert sub.problem is None and os.fsencode(sub.path) == raw
    assert shown_id(sub.student_id) == "\\xd5\\xc5ΰ"  # GBK bytes d5 c5 ce b0; ce b0 is UTF-8 ΰ
    shown_id(sub.student_id).encode("utf-8")


def test_roster_maps_names_and_reports_missing_students(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice_hw4.py").write_text("x = 1\n")
    (subs / "stranger.py").write_text("x = 1\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("SID,submission,name\n1001,alice_hw4.py,Alice\n1002,bob_hw4.py,Bob\n")
    found = discover(subs, roster=roster)
    ids = _ids(found)
    assert ids["1001"].path.name == "alice_hw4.py"
    assert ids["1002"].missing
    assert ids["stranger"].path.name == "stranger.py"
    assert any("not on the roster" in w for w in found.warnings)


def test_roster_with_only_ids_lists_the_class(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\nalice\nbob\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "alice.py").write_text("x = 1\n")
    ids = _ids(discover(subs, roster=roster))
    assert not ids["alice"].missing and ids["bob"].missing


def test_roster_needs_an_id_column(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nAlice\n")
    with pytest.raises(DiscoveryError, match="id column"):
        read_roster(roster)


def test_roster_file_inside_the_folder_is_not_a_submission(tmp_path):
    (tmp_path / "alice.py").write_text("x = 1\n")
    (tmp_path / "roster.csv").write_text("student_id\nalice\n")
    assert list(_ids(discover(tmp_path, roster=tmp_path / "roster.csv"))) == ["alice"]


def _nbgrader_tree(root):
    for student, assignments in {"alice": ["hw4"], "bob": ["hw4"], "carol": []}.items():
        (root / "submitted" / student).mkdir(parents=True)
        for a in assignments:
            folder = root / "submitted" / student / a
            folder.mkdir()
            (folder / "backprop.ipynb").write_text("{}")
            (folder / "timestamp.txt").write_text("2024-01-01 00:00:00\n")


def test_nbgrader_layout_is_detected(tmp_path):
    _nbgrader_tree(tmp_path)
    found = discover(tmp_path)
    assert found.layout == NBGRADER and found.assignment == "hw4"
    ids = _ids(found)
    assert ids["alice"].path == tmp_path / "submitted" / "alice" / "hw4"
    assert ids["carol"].missing


def test_nbgrader_needs_the_assignment_when_ambiguous(tmp_path):
    _nbgrader_tree(tmp_path)
    (tmp_path / "submitted" / "bob" / "hw5").mkdir()
    with pytest.raises(DiscoveryError, match="--assignment"):
        discover(tmp_path, layout=NBGRADER)
    found = discover(tmp_path / "submitted", layout=NBGRADER, assignment="hw5")
    assert _ids(found)["bob"].path.name == "hw5"
    assert _ids(found)["alice"].missing


@pytest.mark.parametrize(
    "student_id",
    [
        "../../etc",
        "..",
        ".hidden",
        "a/b",
        "x<img src=x onerror=alert(1)>",
        "名字",
        "a\nb",
        "A" * 300,
    ],
)
def test_slugs_are_safe_folder_names(student_id):
    slug = student_slug(student_id)
    assert "/" not in slug and not slug.startswith(".") and slug.isprintable()
    assert len(slug) <= 80 and slug not in ("", ".", "..")


def test_different_ids_never_share_a_slug():
    ids = ["a b", "a_b", "a?b", "a*b", "a/b", "a\\b"]
    assert len({student_slug(i) for i in ids}) == len(ids)


@pytest.mark.parametrize("student_id", ["alice", "s0001", "bob.smith", "x@uni.edu", "a+b-c"])
def test_plain_ids_keep_their_folder_name(student_id):
    assert student_slug(student_id) == student_id


# --------------------------------------------------------------------------- injective folders

_NAME_CHARS = st.characters(codec="utf-8") | st.characters(
    min_codepoint=0xDC80,
    max_codepoint=0xDCFF,  # undecodable bytes of a file name (GBK)
)
_NAMES = st.text(_NAME_CHARS, max_size=90) | st.from_regex(
    r"[A-Za-z0-9._@+ -]{0,70}", fullmatch=True
)


def _folder_key(slug: str) -> str:
    """What a case-insensitive, normalising file system (macOS, Windows) compares."""
    return unicodedata.normalize("NFC", slug).casefold().rstrip(". ")


def _adversaries(name: str) -> list[str]:
    """Names crafted against ``name``: its slug, case variants, dots, the slug's parts."""
    slug = student_slug(name)
    stem = slug.rsplit("-", 1)[0]
    return [
        slug,
        slug.upper(),
        slug + ".",
        slug + ".py",
        name.upper(),
        name.lower(),
        name.swapcase(),
        name + ".",
        "." + name,
        name.strip(),
        stem,
        f"{stem}-{'0' * 20}",
        f"{name}-{slug[-20:]}",
        os.fsdecode(name.encode("utf-8", "surrogateescape") + b"\xff")
        if _encodable(name)
        else name + "\udcff",
    ]


def _encodable(name: str) -> bool:
    try:
        name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NAMES, min_size=1, max_size=6, unique=True))
@example(["张伟", "student-" + student_slug("张伟").rsplit("-", 1)[1]])
@example(["Alice", "alice", "ALICE"])
@example(["", ".", "..", "...", "_", "-", " "])
@example(["a" * 300, "a" * 301, "a" * 64, "a" * 65])
@example(["con", "CON", "con.smith", "nul.py", "a/b", "a\\b", "a:b"])
@example([os.fsdecode("张伟".encode("gbk")), os.fsdecode("张伟".encode("gbk") + b"\xff")])
def test_the_map_to_output_folders_is_injective(names):
    """Different ids never share a folder, however crafted, even where case does not count."""
    everyone = set(names)
    for name in names:
        everyone.update(_adversaries(name))
    folders: dict[str, str] = {}
    for student_id in sorted(everyone):
        slug = student_slug(student_id)
        key = _folder_key(slug)
        assert folders.setdefault(key, student_id) == student_id, (student_id, folders[key], slug)


@settings(max_examples=300, deadline=None)
@given(_NAMES)
def test_every_folder_name_is_portable(student_id):
    slug = student_slug(student_id)
    assert 0 < len(slug) <= 64 and slug.isascii() and slug.isprintable()
    assert not slug.startswith((".", "-")) and not slug.endswith((".", " "))
    assert not set(slug) & set('/\\:*?"<>|')
    assert slug.split(".")[0].casefold() not in {"con", "prn", "aux", "nul"}
    assert student_slug(student_id) == slug  # a pure function: a rerun finds the same folder
