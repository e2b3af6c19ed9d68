"""The 20-second version of benchmarks/soak.py against the session gateway: any error fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def test_twenty_second_soak_has_no_error(gateway, local_triton, tmp_path: Path) -> None:
    report_path = tmp_path / "soak.json"
    command = [
        sys.executable, "-P", str(SOAK), "--address", gateway.address, "--duration", "20", "--rate", "10", "--window", "5",
        "--rss-interval", "1", "--gateway-pid", str(os.getpid()), "--triton-pid", str(local_triton.pid), "--out", str(report_path),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    report = json.loads(report_path.read_text())
    assert report["requests"] == 200 and report["error_count"] == 0, report["errors"]
    assert report["by_kind"] == {"text": 100, "video": 100}
    assert len(report["windows"]) == 4 and all(window["p99_ms"] for window in report["windows"])
    assert report["rss"]["gateway"]["max_mib"] > 0 and report["rss"]["triton"]["max_mib"] > 0
