"""`jepa diagnose` against a real gateway, and the HTML report it writes opened in a real browser
(Debian's headless Chromium driven by Selenium): the map's points, every section and its charts,
thumbnails that decode, and a page that logs no error."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.browser import console_errors, needs_chromium

SECTIONS = ("map", "spectrum", "duplicates", "outliers", "clusters", "coverage", "drift")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Diagnosed:
    report: Path
    diagnosis: dict[str, Any]  # the command's --json output


@pytest.fixture(scope="module")
def run_jepa(diagnosed_gateway, trouble_index) -> Callable[..., subprocess.CompletedProcess[str]]:
    """run_jepa(*argv): the real `jepa` command in its own process against the indexed trouble
    collection (stdout and stderr are pipes, not terminals)."""

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "jepa_client.cli", "--address", diagnosed_gateway.address, *argv]
        return subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)

    return run


@pytest.fixture(scope="module")
def diagnosed(run_jepa, trouble_index, tmp_path_factory: pytest.TempPathFactory) -> Diagnosed:
    report = tmp_path_factory.mktemp("diagnosis") / "report.html"
    second_ingest = trouble_index.second_ingest_at
    completed = run_jepa(
        "diagnose", "--json", "--html", str(report), "--drift-reference", f"1:{second_ingest}", "--drift-current", f"{second_ingest}:",
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.splitlines()[-1] == f"report: {report}", "with --json, the report's path goes to stderr"
    return Diagnosed(report, json.loads(completed.stdout))


def test_json_holds_the_whole_diagnosis_with_thumbnails_in_base64(diagnosed: Diagnosed) -> None:
    diagnosis = diagnosed.diagnosis
    assert diagnosis["rows_analyzed"] > 0 and diagnosis["map"] and diagnosis["spectrum"]["explained_variance"]
    drift = diagnosis["drift"]
    assert drift["reference_rows"] > 0 and drift["current_rows"] > 0
    assert drift["reference_rows"] + drift["current_rows"] == diagnosis["rows_analyzed"], "the two ingests are every row"
    thumbnails = [png for group in diagnosis["duplicates"] for png in group["thumbnails_png"]]
    thumbnails += [video["thumbnail_png"] for video in diagnosis["outlier_videos"] if video["thumbnail_png"]]
    assert thumbnails, "the videos were indexed by path under a media root: the gateway reads frames of them"
    assert all(base64.b64decode(png).startswith(PNG_SIGNATURE) for png in thumbnails)


def test_text_summary_and_progress_lines_per_stage(run_jepa) -> None:
    completed = run_jepa("diagnose", "--no-captions", "--map-points", "50")
    assert completed.returncode == 0, completed.stderr
    labels = [line.split()[0] for line in completed.stdout.splitlines() if not line.startswith(" ")]
    assert labels[:8] == ["collection", "rows", "spectrum", "neighbours", "duplicates", "outliers", "clusters", "coverage"]
    assert "drift" not in labels, "no time ranges, no drift line"
    stages = [line.split("]")[0].removeprefix("[") for line in completed.stderr.splitlines()]
    assert stages[0] == "read" and len(stages) == len(set(stages)), "stderr is not a terminal: one line per stage"


@needs_chromium
def test_the_report_shows_the_map_every_section_and_no_console_error(browser, diagnosed: Diagnosed, tmp_path: Path) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    diagnosis = diagnosed.diagnosis
    browser.get(diagnosed.report.as_uri())

    points = browser.find_elements(By.CSS_SELECTOR, "#map svg.scatter .point")
    assert len(points) == len(diagnosis["map"])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map .point.outlier")) == sum(point["outlier"] for point in diagnosis["map"])
    titles = browser.execute_script("return Array.from(document.querySelectorAll('#map .point title'), title => title.textContent)")
    assert {title.split(" · ")[0] for title in titles} == {point["video_id"] for point in diagnosis["map"]}
    for anchor in SECTIONS:
        assert browser.find_element(By.CSS_SELECTOR, f"section#{anchor} h2").is_displayed()

    bars = len(diagnosis["spectrum"]["explained_variance"]) + len(diagnosis["nearest_neighbours"]["histogram_counts"])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#spectrum rect.bar")) == bars
    assert len(browser.find_elements(By.CSS_SELECTOR, "#clusters tbody tr")) == len(diagnosis["clusters"])
    assert len(browser.find_elements(By.CSS_SELECTOR, "#drift rect.bar")) == 2 * len(diagnosis["drift"]["shares"])
    verdict = browser.find_element(By.CSS_SELECTOR, "#drift .verdict").text
    assert verdict == ("Drifted" if diagnosis["drift"]["drifted"] else "No drift")
    decoded = browser.execute_script("return Array.from(document.images, image => image.complete && image.naturalWidth > 0)")
    assert all(decoded), "every thumbnail decodes"

    height = browser.execute_script("return document.body.scrollHeight")
    browser.set_window_size(1280, min(height + 40, 8000))
    screenshot = tmp_path / "diagnosis-report.png"
    assert browser.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    darkest, lightest = Image.open(screenshot).convert("L").getextrema()
    assert lightest - darkest > 100, "the screenshot is not one flat colour"
    assert console_errors(browser) == []
