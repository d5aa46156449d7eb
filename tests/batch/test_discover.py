"""Finding one submission per student: flat folders, rosters, nbgrader trees, odd names."""

from __future__ import annotations

import pytest

from autograder.batch.discover import (
    FLAT,
    NBGRADER,
    DiscoveryError,
    discover,
    read_roster,
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
    (tmp_path / "trudy").mkdir()
    (tmp_path / "trudy" / "nn.py").symlink_to(target)
    subs = _ids(discover(tmp_path))
    assert "symbolic link" in subs["mallory"].problem
    assert "symbolic link" in subs["trudy"].problem


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
