"""Course folder, roster, course.toml and token authentication (autograder/server/course.py)."""

from __future__ import annotations

import csv
import os
import re
import stat
from datetime import datetime
from pathlib import Path

import pytest

from autograder.cli import main
from autograder.server import course as course_mod
from autograder.server import db
from autograder.server.course import (
    CourseError,
    Principal,
    Student,
    add_students,
    authenticate,
    hash_token,
    init_course,
    load_course,
    read_roster,
    read_secret,
)
from autograder.server.policy import HomeworkPolicy

SECRET_FILES = ("secret", "session.key", "tokens.csv", "instructor_token.txt", "course.db")
DUE = datetime.fromisoformat("2026-12-15T23:59:00+08:00").timestamp()


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.fixture
def roster(tmp_path) -> Path:
    return write(tmp_path / "roster.csv", "id,name,email\ns001,Ada,ada@x.org\ns002,张三,\n")


@pytest.fixture
def course_dir(tmp_path, roster) -> Path:
    init_course(tmp_path / "course", roster, name="NN 2026")
    return tmp_path / "course"


def tokens_of(course_dir: Path) -> dict[str, str]:
    with open(course_dir / "tokens.csv", newline="", encoding="utf-8") as f:
        return {row["id"]: row["token"] for row in csv.DictReader(f)}


# -- roster ------------------------------------------------------------------------------------

ADA = Student("s001", "Ada", "ada@x.org")
ZHANG = Student("s002", "张三", "")


@pytest.mark.parametrize(
    "data, expected",
    [
        ("id,name,email\ns001,Ada,ada@x.org\ns002,张三,\n", [ADA, ZHANG]),
        ("\ufeffid,name,email\r\ns001,Ada,ada@x.org\r\ns002,张三,\r\n", [ADA, ZHANG]),  # Excel
        ("id,name,email\ns001,Ada,ada@x.org\ns002,张三,\n".encode("gbk"), [ADA, ZHANG]),
        ("id,name,email\ns001,Ada,ada@x.org\ns002,张三,\n".encode("utf-16"), [ADA, ZHANG]),
        (" ID , Name ,EMAIL\n s001 , Ada , ada@x.org \ns002,张三\n", [ADA, ZHANG]),
        ("email,seat,id,name\nada@x.org,3,s001,Ada\n,4,s002,张三\n", [ADA, ZHANG]),
        ("id\ns001\n", [Student("s001")]),
        ("student_id,name\ns001,Ada\n", [Student("s001", "Ada")]),
        ("id;name;email\ns001;Ada;ada@x.org\n", [ADA]),  # Excel in a comma-decimal locale
        ("id\tname\temail\ns001\tAda\tada@x.org\n", [ADA]),
        ("\nid,name,email\n\ns001,Ada,ada@x.org\n,,\n\n", [ADA]),  # blank lines skipped
        ('id,name,email\ns001,"Lovelace, Ada",\n', [Student("s001", "Lovelace, Ada")]),
        ("id,name,email\n=cmd,x,\n", [Student("=cmd", "x")]),
    ],
    ids=[
        "utf8", "utf8-bom-crlf", "gbk", "utf16", "case-and-spaces", "extra-columns", "id-only",
        "student_id", "semicolon", "tab", "blank-lines", "quoted-comma", "formula-like-id",
    ],
)  # fmt: skip
def test_roster_reads(tmp_path, data, expected):
    assert read_roster(write(tmp_path / "r.csv", data)) == expected


@pytest.mark.parametrize(
    "data, message",
    [
        ("id,name,email\ns001,a,\n,b,\n", "line 3: the id is empty"),
        ("id,name,email\ns001,a,\n  ,b,\n", "line 3: the id is empty"),
        ("id,name\ns001,a\nS001,b\n", "line 3: id 'S001' is already on line 2"),
        ("id,name\ns001,a\ns002,b\ns001,c\n", "line 4: id 's001' is already on line 2"),
        ("id\n" + "x" * 65 + "\n", "line 2: the id 'xxxxxxxxxxxxxxxxxxxx'… is longer than 64"),
        ("id\ns\x00x\n", "line 2"),
        ("id\ns\x1b[2Jx\n", "line 2: the id 's?[2Jx' holds a control or invisible character"),
        ("id\ns\u200bx\n", "line 2: the id 's?x' holds a control"),
        ("id,name\ns001,a\x07b\n", "line 2: the name 'a?b' holds a control"),
        ("id,email\ns001," + "a" * 201 + "\n", "line 2: the email is longer than 200"),
        ("name,email\nAda,ada@x.org\n", "line 1: no id column"),
        ("", "is empty"),
        ("id,name,email\n", "lists no students"),
        (b"id\n\x80\xff\n", "neither UTF-8 nor GBK"),
    ],
)
def test_roster_problems_name_the_line(tmp_path, data, message):
    with pytest.raises(CourseError, match="roster r.csv") as info:
        read_roster(write(tmp_path / "r.csv", data))
    assert message in str(info.value)


def test_missing_roster_is_a_course_error(tmp_path):
    with pytest.raises(CourseError, match="cannot read roster"):
        read_roster(tmp_path / "nope.csv")


# -- init --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SECRET_FILES)
def test_init_writes_secret_files_0600(course_dir, name):
    assert stat.S_IMODE((course_dir / name).stat().st_mode) == 0o600


def test_secret_files_are_0600_from_creation_never_chmodded(tmp_path, roster, monkeypatch):
    opened: dict[str, tuple[int, int]] = {}
    real_open = os.open

    def spy(path, flags, mode=0o777, **kw):
        opened[Path(path).name] = (flags, mode)
        return real_open(path, flags, mode, **kw)

    def no_chmod(*args, **kwargs):
        raise AssertionError("chmod after creation")

    monkeypatch.setattr(os, "open", spy)
    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod, raising=False)
    init_course(tmp_path / "c", roster)
    for name in SECRET_FILES:
        flags, mode = opened[name]
        assert flags & os.O_CREAT and flags & os.O_EXCL and mode == 0o600, name


def test_init_lays_out_the_course(course_dir):
    c = load_course(course_dir)
    assert (c.name, c.lang) == ("NN 2026", "en")
    assert c.server == course_mod.ServerSettings(6, 5 * 1024 * 1024, None)
    assert c.homeworks == {"backprop": HomeworkPolicy("backprop")}
    assert c.uploads_dir.is_dir() and c.db_path.is_file()
    assert len(c.secret_path.read_text().strip()) == 64  # 32 bytes, hex
    assert len(c.session_key_path.read_text().strip()) == 64
    assert c.secret_path.read_text() != c.session_key_path.read_text()


def test_init_stores_students_and_only_token_hashes(course_dir):
    tokens = tokens_of(course_dir)
    assert list(tokens) == ["s001", "s002"] and len(set(tokens.values())) == 2
    conn = db.connect(course_dir / "course.db")
    rows = {r["id"]: tuple(r) for r in conn.execute("SELECT * FROM students")}
    assert rows == {
        "s001": ("s001", "Ada", "ada@x.org", hash_token(tokens["s001"])),
        "s002": ("s002", "张三", "", hash_token(tokens["s002"])),
    }
    dump = b"".join(p.read_bytes() for p in course_dir.glob("course.db*"))
    assert not any(t.encode() in dump for t in tokens.values())


def test_init_summary_points_at_the_token_files(tmp_path, roster):
    summary = init_course(tmp_path / "c", roster)
    assert summary.students == 2
    assert summary.tokens_path == tmp_path / "c" / "tokens.csv"
    assert summary.instructor_token_path.read_text().strip() == summary.instructor_token


@pytest.mark.parametrize("existing", ["course.toml", "course.db", "secret", "tokens.csv"])
def test_init_refuses_a_folder_with_a_course(tmp_path, roster, existing):
    (tmp_path / "c").mkdir()
    write(tmp_path / "c" / existing, "keep me")
    with pytest.raises(CourseError, match=f"already holds a course \\({existing}\\)"):
        init_course(tmp_path / "c", roster)
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [existing]
    assert (tmp_path / "c" / existing).read_text() == "keep me"


def test_init_twice_is_refused_and_changes_nothing(course_dir, roster):
    before = {p.name: p.read_bytes() for p in course_dir.iterdir() if p.is_file()}
    with pytest.raises(CourseError, match="already holds a course"):
        init_course(course_dir, roster)
    assert {p.name: p.read_bytes() for p in course_dir.iterdir() if p.is_file()} == before


def test_init_with_a_bad_roster_creates_nothing(tmp_path):
    with pytest.raises(CourseError):
        init_course(tmp_path / "c", write(tmp_path / "r.csv", "id\n\x01\n"))
    assert not (tmp_path / "c").exists()


def test_init_into_an_existing_empty_folder(tmp_path, roster):
    (tmp_path / "c").mkdir()
    init_course(tmp_path / "c", roster)
    assert load_course(tmp_path / "c").name == "c"  # the folder's name by default


@pytest.mark.parametrize("name", ['Say "hi" \\ 神经网络', "a'b", "[course]"])
def test_course_name_round_trips_through_course_toml(tmp_path, roster, name):
    init_course(tmp_path / "c", roster, name=name)
    assert load_course(tmp_path / "c").name == name


def test_course_name_with_a_newline_is_refused(tmp_path, roster):
    with pytest.raises(CourseError, match="course name"):
        init_course(tmp_path / "c", roster, name="a\nb")


# -- add students ------------------------------------------------------------------------------


def test_add_students_appends_tokens_that_work(course_dir, tmp_path):
    added = add_students(course_dir, write(tmp_path / "more.csv", "id,name\ns003,Cy\ns004,Di\n"))
    assert [i for i, _ in added] == ["s003", "s004"]
    assert tokens_of(course_dir) == {**tokens_of(course_dir), **dict(added)}
    assert list(tokens_of(course_dir)) == ["s001", "s002", "s003", "s004"]
    assert stat.S_IMODE((course_dir / "tokens.csv").stat().st_mode) == 0o600
    conn = db.connect(course_dir / "course.db")
    assert authenticate(conn, added[1][1]) == Principal("student", "s004")


@pytest.mark.parametrize("clash", ["s002", "S002"])
def test_add_students_refuses_known_ids_and_adds_nothing(course_dir, tmp_path, clash):
    before = (course_dir / "tokens.csv").read_bytes()
    with pytest.raises(CourseError, match="already has 1 of these students \\('s002'\\)"):
        add_students(course_dir, write(tmp_path / "more.csv", f"id\ns003\n{clash}\n"))
    assert (course_dir / "tokens.csv").read_bytes() == before
    conn = db.connect(course_dir / "course.db")
    assert conn.execute("SELECT COUNT(*) FROM students").fetchone()[0] == 2


def test_add_students_recreates_a_removed_tokens_csv_0600(course_dir, tmp_path):
    (course_dir / "tokens.csv").unlink()
    added = add_students(course_dir, write(tmp_path / "more.csv", "id\ns003\n"))
    assert tokens_of(course_dir) == dict(added)
    assert stat.S_IMODE((course_dir / "tokens.csv").stat().st_mode) == 0o600


def test_add_students_needs_a_course(tmp_path, roster):
    with pytest.raises(CourseError, match="not a course folder"):
        add_students(tmp_path, roster)


# -- course.toml -------------------------------------------------------------------------------

BASE = """
[course]
name = "NN"
lang = "zh"

[server]
uploads_per_minute = 3
max_upload_bytes = 1000
workers = 4

[homeworks.backprop]
due = 2026-12-15T23:59:00+08:00
late_penalty_per_day = 0.1
cutoff = 2026-12-20T23:59:00+08:00
max_attempts = 5
counts = "last"

[homeworks.backprop.extensions]
s001 = 2026-12-18T23:59:00+08:00
"""


def load_toml(tmp_path: Path, text: str):
    write(tmp_path / "course.toml", text)
    return load_course(tmp_path)


def test_a_full_config_loads(tmp_path):
    c = load_toml(tmp_path, BASE)
    assert (c.name, c.lang) == ("NN", "zh")
    assert c.server == course_mod.ServerSettings(3, 1000, 4)
    assert c.homeworks["backprop"] == HomeworkPolicy(
        homework="backprop",
        spec=None,
        due=DUE,
        late_penalty_per_day=0.1,
        cutoff=DUE + 5 * 86400,
        max_attempts=5,
        counts="last",
        extensions={"s001": DUE + 3 * 86400},
    )


@pytest.mark.parametrize(
    "due",
    [
        "2026-12-15T23:59:00+08:00",
        '"2026-12-15T23:59:00+08:00"',
        '"2026-12-15 23:59:00+08:00"',
        "2026-12-15T15:59:00Z",
        '"2026-12-15T15:59:00Z"',
        '" 2026-12-15T15:59:00z "',
        "2026-12-15T10:59:00-05:00",
    ],
)
def test_deadlines_are_toml_datetimes_or_iso_strings_with_an_offset(tmp_path, due):
    c = load_toml(tmp_path, f"[homeworks.backprop]\ndue = {due}\n")
    assert c.homeworks["backprop"].due == DUE


def test_defaults_and_unlimited_attempts(tmp_path):
    c = load_toml(tmp_path, "[homeworks.hw1]\nmax_attempts = 0\n")
    assert c.lang == "en" and c.name == tmp_path.name
    assert c.homeworks["hw1"] == HomeworkPolicy("hw1", max_attempts=None)


@pytest.mark.parametrize(
    ("name", "bundled"),
    [("logreg", True), ("backprop", False), ("hw1", False)],  # backprop: the default, spec None
)
def test_a_homework_without_spec_is_the_bundled_one_of_its_name(tmp_path, name, bundled):
    from autograder.homeworks import homework_spec_path

    c = load_toml(tmp_path, f"[homeworks.{name}]\n")
    assert c.homeworks[name].spec == (str(homework_spec_path(name)) if bundled else None)


def test_spec_path_is_relative_to_the_course(tmp_path):
    write(tmp_path / "spec.toml", "")
    c = load_toml(tmp_path, '[homeworks.hw1]\nspec = "spec.toml"\n')
    assert c.homeworks["hw1"].spec == str((tmp_path / "spec.toml").resolve())


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "[course]",
            "colour = 1\n[course]",
            "(top level): unknown key 'colour' (known: course, server",
        ),
        ('lang = "zh"', 'lang = "zh"\ntheme = "x"', "[course]: unknown key 'theme'"),
        ("workers = 4", "worker = 4", "[server]: unknown key 'worker'"),
        ('counts = "last"', 'count = "last"', "[homeworks.backprop]: unknown key 'count'"),
        ('lang = "zh"', 'lang = "fr"', "lang must be one of ('en', 'zh'), not 'fr'"),
        ('name = "NN"', "name = 3", "[course] name must be a string"),
        ('counts = "last"', 'counts = "worst"', "counts must be one of ('best', 'last')"),
        ("= 0.1", "= -0.1", "late_penalty_per_day must be a fraction from 0 to 1"),
        ("= 0.1", "= 1.5", "late_penalty_per_day must be a fraction from 0 to 1"),
        ("= 0.1", '= "10%"', "late_penalty_per_day must be a number"),
        ("= 0.1", "= nan", "late_penalty_per_day must be a number"),
        ("cutoff = 2026-12-20", "cutoff = 2026-12-10", "the cutoff is before the due date"),
        ("due = 2026-12-15T23:59:00+08:00", "due = 2026-12-15T23:59:00", "has no UTC offset"),
        ("due = 2026-12-15T23:59:00+08:00", 'due = "2026-12-15T23:59"', "due has no UTC offset"),
        ("due = 2026-12-15T23:59:00+08:00", "due = 2026-12-15", "a date without a time"),
        ("due = 2026-12-15T23:59:00+08:00", "due = 23:59:00", "not a datetime"),
        ("due = 2026-12-15T23:59:00+08:00", 'due = "next friday"', "is not an ISO 8601"),
        ("due = 2026-12-15T23:59:00+08:00", "due = 1797350340", "not a datetime"),
        ("max_attempts = 5", 'max_attempts = "5"', "max_attempts must be a whole number"),
        ("max_attempts = 5", "max_attempts = 5.0", "max_attempts must be a whole number"),
        ("max_attempts = 5", "max_attempts = -1", "max_attempts must be at least 0"),
        ("workers = 4", "workers = true", "workers must be a whole number"),
        ("workers = 4", "workers = 0", "workers must be at least 1"),
        ("uploads_per_minute = 3", "uploads_per_minute = 0", "must be at least 1"),
        ("s001 = 2026-12-18", "s001 = 2026-12-14", "an extension is before the homework's due"),
        ("s001 = 2026-12-18T23:59:00+08:00", "s001 = 2026-12-18T23:59:00", "no UTC offset"),
        ("[homeworks.backprop]", "[homeworks.'../x']", "homework name '../x' must be letters"),
        ("max_attempts = 5", 'spec = "missing.toml"', "spec: no file"),
        ('lang = "zh"', 'lang = "zh', "cannot read"),  # a TOML syntax error
    ],
)
def test_config_errors_say_what_is_wrong(tmp_path, old, new, message):
    assert old in BASE
    with pytest.raises(CourseError) as info:
        load_toml(tmp_path, BASE.replace(old, new, 1))
    assert message in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[course]\nname = "x"\n', "has no homework"),
        ("server = 1\n[homeworks.hw]\n", "\\[server\\] must be a table"),
        ("homeworks = 1\n", "\\[homeworks\\] must be a table"),
        ("[homeworks]\nhw = 1\n", "\\[homeworks.hw\\] must be a table"),
        ("[homeworks.hw]\n[homeworks.hw.extensions]\ns1 = 2026-01-01T00:00:00Z\n", "need a due"),
    ],
)
def test_config_errors_without_the_base(tmp_path, text, message):
    with pytest.raises(CourseError, match=message):
        load_toml(tmp_path, text)


def test_a_folder_without_course_toml_is_not_a_course(tmp_path):
    with pytest.raises(CourseError, match="not a course folder .*bpgrade course init"):
        load_course(tmp_path)


def test_unknown_homework_is_a_course_error(course_dir):
    with pytest.raises(CourseError, match="no homework 'hw9'"):
        load_course(course_dir).homework("hw9")


# -- tokens ------------------------------------------------------------------------------------


@pytest.fixture
def conn(course_dir):
    connection = db.connect(course_dir / "course.db")
    yield connection
    connection.close()


def token_for(course_dir: Path, who: str) -> str:
    if who == "instructor":
        return (course_dir / "instructor_token.txt").read_text().strip()
    return tokens_of(course_dir)[who]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("s001", Principal("student", "s001")),
        ("s002", Principal("student", "s002")),  # another student's token is that student
        ("instructor", Principal("instructor", "instructor")),
    ],
)
def test_a_token_authenticates_its_owner(course_dir, conn, who, expected):
    assert authenticate(conn, token_for(course_dir, who)) == expected


@pytest.mark.parametrize(
    "make_token",
    [
        lambda t: t[:-1],  # one character short
        lambda t: t + "x",
        lambda t: t.upper(),
        lambda t: " " + t,
        lambda t: hash_token(t),  # the stored hash is not a token
        lambda t: "",
        lambda t: "x" * 40,
    ],
    ids=["short", "long", "upper", "space", "hash", "empty", "random"],
)
def test_a_wrong_token_is_nobody(course_dir, conn, make_token):
    assert authenticate(conn, make_token(token_for(course_dir, "s001"))) is None


@pytest.mark.parametrize("token", ["a" * 257, "a" * 10_000, "tökén", "\u3000" * 10, "x\udcff"])
def test_overlong_or_non_ascii_tokens_are_refused_without_a_lookup(conn, token):
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert authenticate(conn, token) is None
    assert statements == []


def test_a_256_character_token_is_looked_up(conn):
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    assert authenticate(conn, "a" * 256) is None
    assert statements


def test_tokens_are_urlsafe_and_distinct():
    tokens = {course_mod.new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", t) for t in tokens)


# -- the secret --------------------------------------------------------------------------------


def test_read_secret(course_dir):
    c = load_course(course_dir)
    assert read_secret(c) == c.secret_path.read_bytes().strip() and len(read_secret(c)) == 64


@pytest.mark.parametrize(
    "spoil, message",
    [
        (lambda p: p.chmod(0o644), "readable by others; run: chmod 600"),
        (lambda p: p.chmod(0o640), "readable by others"),
        (lambda p: p.write_bytes(b"\n"), "is empty"),
        (lambda p: p.unlink(), "cannot read the course secret"),
    ],
)
def test_read_secret_refuses(course_dir, spoil, message):
    c = load_course(course_dir)
    spoil(c.secret_path)
    with pytest.raises(CourseError, match=message):
        read_secret(c)


# -- the command -------------------------------------------------------------------------------


@pytest.mark.parametrize("show", [False, True])
def test_course_init_command_never_prints_student_tokens(tmp_path, roster, capsys, show):
    argv = ["course", "init", str(tmp_path / "c"), "--roster", str(roster)]
    assert main(argv + (["--show-instructor-token"] if show else [])) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "c" / "tokens.csv") in out
    assert str(tmp_path / "c" / "instructor_token.txt") in out
    assert not any(t in out for t in tokens_of(tmp_path / "c").values())
    assert (token_for(tmp_path / "c", "instructor") in out) is show


def test_course_commands_report_errors_with_exit_2(tmp_path, roster, capsys):
    argv = ["course", "init", str(tmp_path / "c"), "--roster", str(roster)]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "already holds a course" in capsys.readouterr().err


def test_course_add_students_command(course_dir, tmp_path, capsys):
    more = write(tmp_path / "more.csv", "id\ns003\n")
    assert main(["course", "add-students", str(course_dir), "--roster", str(more)]) == 0
    out = capsys.readouterr().out
    assert "added 1 student(s)" in out and tokens_of(course_dir)["s003"] not in out
