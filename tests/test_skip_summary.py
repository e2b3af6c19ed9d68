"""A run that skips tests ends with one line naming them and how to install what they need."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SKIPPING = '''
import pytest

def test_runs():
    pass

def test_needs_promtool():
    pytest.skip("promtool is not installed: apt-get install -y prometheus")

@pytest.mark.skipif(True, reason="needs docker-compose: apt-get install -y docker-compose")
def test_needs_compose():
    pass

def test_also_needs_promtool():
    pytest.skip("promtool is not installed: apt-get install -y prometheus")
'''


def run_pytest(folder: Path) -> list[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "support.skip_summary", "-p", "no:cacheprovider", "-q", str(folder)],
        capture_output=True, text=True, timeout=120, cwd=folder, env={"PYTHONPATH": str(TESTS), "PATH": ""},
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout.splitlines()


def test_skipped_tests_are_named_in_one_line_with_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SKIPPING))
    (line,) = [line for line in run_pytest(tmp_path) if line.startswith("skipped ")]
    assert line == (
        "skipped 3 tests: test_needs_promtool, test_also_needs_promtool (promtool is not installed: apt-get install -y prometheus); "
        "test_needs_compose (needs docker-compose: apt-get install -y docker-compose); .ci/run installs the system tools they need"
    )


def test_a_run_without_skips_adds_no_line(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text("def test_runs():\n    pass\n")
    assert not [line for line in run_pytest(tmp_path) if line.startswith("skipped ")]
