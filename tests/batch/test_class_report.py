"""The class report: numbers, charts, escaping, and a real render in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from autograder.batch import classreport
from autograder.batch.gradebook import Row
from autograder.spec import load_spec

SPEC = load_spec()
EVIL_ID = '<img src=x onerror="alert(1)">$\\frac{1}{0}$'


def _rows() -> list[Row]:
    full = {p.id: p.points for p in SPEC.parts}
    rows = []
    for i in range(40):
        parts = dict(full)
        tags = []
        if i % 3 == 0:
            parts["nnGrad"], tags = 0.0, ["gprime_forgotten"]
        if i % 5 == 0:
            parts["computeNumericalGradient"], tags = 0.0, [*tags, "numgrad_one_sided"]
        score = sum(parts.values())
        rows.append(
            Row(f"s{i:03d}", "graded", score, 100.0, parts, tags, execution_time=0.2 + 0.01 * i)
        )
    zero = {p.id: 0.0 for p in SPEC.parts}
    rows.append(Row(EVIL_ID, "broken", 0.0, 100.0, zero, error=EVIL_ID, execution_time=3.0))
    rows.append(Row("late", "missing", None, 100.0))
    return rows


def test_numbers():
    rows = _rows()
    stats = {s.part: s for s in classreport.part_stats(rows, SPEC)}
    assert stats["sigmoid"].pass_rate == pytest.approx(40 / 41)
    assert stats["nnGrad"].pass_rate == pytest.approx(26 / 41)
    counts = dict(classreport.misconception_counts(rows))
    assert counts == {"gprime_forgotten": 14, "numgrad_one_sided": 8}
    assert classreport.slowest(rows, 1)[0].student_id == EVIL_ID
    summary = classreport.summary(rows)
    assert summary["students"] == 42 and summary["missing"] == 1 and summary["broken"] == 1


def test_report_files_and_escaping(tmp_path):
    index = classreport.write_class_report(_rows(), SPEC, tmp_path)
    page = index.read_text()
    for png in classreport.CHARTS.values():
        data = (index.parent / png).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5_000
        assert f'src="{png}"' in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=" in page
    assert "<script" not in page


def test_chart_labels_are_inert():
    assert classreport.chart_label("$x$") == r"\$x\$"
    assert "\n" not in classreport.chart_label("a\nb")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="chromium not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    index = classreport.write_class_report(_rows(), SPEC, tmp_path / "out")
    shot = tmp_path / "shot.png"
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,2000",
        index.resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    assert shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1200, 2000)
        colours = rgb.getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 50, "the page rendered as a near-blank image"
    # the charts are drawn: the histogram's blue and the pass-rate green are on the page
    pixels = {c for _, c in colours} if colours else set()
    assert not pixels or any(_near(c, (0x44, 0x72, 0xC4)) for c in pixels)
    assert not pixels or any(_near(c, (0x2E, 0x8B, 0x57)) for c in pixels)


def _near(c: tuple[int, int, int], target: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(c, target, strict=True))


def test_report_without_matplotlib_still_renders(tmp_path, monkeypatch):
    monkeypatch.setattr(classreport, "draw_charts", lambda *a, **k: False)
    page = classreport.write_class_report(_rows(), SPEC, Path(tmp_path)).read_text()
    assert "install matplotlib" in page and "<img" not in page
