"""benchmarks/gpu/check.sh: the GPU run cannot happen here, so its whole path runs on the CPU with
a tiny model (no installation), proving the script, the export options it passes and its summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jepa_export import tensorrt_plan

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "check.sh"


def test_gpu_check_script_is_valid_bash():
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_gpu_check_script_dry_run_on_the_cpu_writes_its_summary(tmp_path):
    environment = {**os.environ, "OUT": str(tmp_path), "PRESET": "tiny", "DEVICE": "cpu", "INSTALL": "0", "PYTHON": sys.executable}
    completed = subprocess.run([str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr + (tmp_path / "export.log").read_text()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export.log", "export_report.json", "summary.md"]
    summary = (tmp_path / "summary.md").read_text()
    assert "| onnx_fp16 | onnxruntime" in summary and "export exit code: 0" in summary
    (model,) = json.loads((tmp_path / "export_report.json").read_text())["models"]
    assert [check["timing_batch_size"] for check in model["artifacts"]] == [2, 2]
    assert all(check["torch_ms"] > 0 and check["artifact_ms"] > 0 for check in model["artifacts"])
    reason = tensorrt_plan.unavailable_reason()
    assert (f"tensorrt: skipped: {reason}" in summary) if reason else ("| tensorrt_fp16 | tensorrt" in summary)
