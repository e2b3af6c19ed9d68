"""The 20-second version of benchmarks/soak.py against the session gateway: any error fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOAK = [sys.executable, "-m", "benchmarks.soak"]  # run from ROOT, as `python -m benchmarks.soak`


def test_twenty_second_soak_has_no_error(gateway, local_triton, tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    command = [
        *SOAK, "--address", gateway.address, "--duration", "20", "--rate", "10", "--window", "5",
        "--rss-interval", "1", "--gateway-pid", str(os.getpid()), "--triton-pid", str(local_triton.pid), "--out", str(report_path),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(report_path.read_text())
    assert report["requests"] == 200 and report["error_count"] == 0, report["errors"]
    assert report["by_kind"] == {"text": 100, "video": 100}
    assert len(report["windows"]) == 4 and all(window["p99_ms"] for window in report["windows"])
    assert report["rss"]["gateway"]["max_mib"] > 0 and report["rss"]["triton"]["max_mib"] > 0


def test_the_soak_section_of_results_md_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    report = {
        "command": "soak --duration 1", "rate_rps": 10, "duration_s": 1, "by_kind": {"text": 5, "video": 5}, "deadline_s": 10,
        "cpu_count": 2, "load_average_1m": 1.0, "error_count": 0, "errors": {}, "p50_ms": 20.0, "p99_ms": 90.0, "p99_drift": None,
        "rss": {"gateway": {"first_mib": 1, "last_mib": 2, "max_mib": 2, "growth_mib": 1, "growth_pct": 100.0}, "triton": {}},
        "windows": [{"start_s": 0, "requests": 10, "errors": 0, "p50_ms": 20.0, "p99_ms": 90.0}],
    }
    (tmp_path / "soak.json").write_text(json.dumps(report))
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n<!-- bench:start -->\nother sections\n<!-- bench:end -->\n")
    render = [*SOAK, "--render", str(tmp_path / "soak.json"), "--results-md", str(results)]
    for _ in range(2):
        subprocess.run(render, check=True, timeout=60, cwd=ROOT)
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\n<!-- bench:start -->\nother sections\n<!-- bench:end -->\n\n<!-- soak:start -->\n## Soak\n")
    assert text.count("## Soak") == 1 and "- **errors: 0**" in text and "| 0 | 10 | 0 | 20.0 | 90.0 |" in text
