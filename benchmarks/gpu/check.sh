#!/usr/bin/env bash
# GPU check of the export stage, one prepared run: a V-JEPA 2 of ViT-L size (random weights,
# 16 frames, 256 px) exported to ONNX fp32 / fp16 and a TensorRT fp16 plan, every artifact
# verified against PyTorch fp32 on the GPU (TF32 off) and timed against it. Results go to $OUT:
#   summary.md          parity, neighbours, timings, TensorRT version, GPU (for benchmarks/RESULTS.md)
#   export_report.json  the full report;  export.log  the export's output;  install.log  pip's
#
# Usage, from anywhere, on a machine with an NVIDIA GPU:   OUT=/tmp/out benchmarks/gpu/check.sh
# Python packages missing from $PYTHON are installed from the wheels in $WHEELS when that folder
# exists (machines without internet: carry them), else from the package index. tensorrt and
# onnxruntime-gpu are optional: without them the plan is skipped with its reason / ONNX Runtime
# verifies on the CPU, and the summary says so.
# The whole script ends within $TOTAL_S seconds (default 470, under 8 minutes): the export gets
# what the installation left, and a run cut short still writes what it has.
# TIMING_RUNS (default 10) shortens the timing of each artifact where the time is short.
# Knobs for a CPU dry run of the same path (tests/export/test_gpu_check_script.py):
#   PRESET=tiny DEVICE=cpu INSTALL=0 PYTHON=.venv/bin/python
set -euo pipefail

started=$(date +%s)
cd "$(dirname "$0")/../.."
OUT=${OUT:-benchmarks/gpu/out}
PYTHON=${PYTHON:-python3}
WHEELS=${WHEELS:-.whl}
PRESET=${PRESET:-vit-l}
DEVICE=${DEVICE:-cuda}
INSTALL=${INSTALL:-1}
TOTAL_S=${TOTAL_S:-470}
TIMING_RUNS=${TIMING_RUNS:-10}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jepa-gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

missing_modules() {  # prints the import names, among the arguments, that $PYTHON cannot import
  "$PYTHON" - "$@" <<'PY'
import importlib.util, sys
print(" ".join(name for name in sys.argv[1:] if importlib.util.find_spec(name) is None))
PY
}

pip_install() {  # pip_install REQUIREMENT...: from $WHEELS if present, else the index
  if [ -d "$WHEELS" ]; then
    "$PYTHON" -m pip install -q --no-index --find-links "$WHEELS" "$@" >>"$OUT/install.log" 2>&1
  else
    "$PYTHON" -m pip install -q "$@" >>"$OUT/install.log" 2>&1
  fi
}

if [ "$INSTALL" = 1 ]; then
  : >"$OUT/install.log"
  declare -A requirement=([pydantic]="pydantic>=2" [av]="av" [tritonclient]="tritonclient[grpc]" [tokenizers]="tokenizers" [rich]="rich" [onnx]="onnx" [onnxscript]="onnxscript" [onnxruntime]="onnxruntime")
  needed=()
  for module in $(missing_modules "${!requirement[@]}"); do needed+=("${requirement[$module]}"); done
  if [ ${#needed[@]} -gt 0 ]; then
    pip_install "${needed[@]}" || { echo "check.sh: cannot install ${needed[*]} (see $OUT/install.log)" >&2; exit 1; }
  fi
  cuda_major=$("$PYTHON" -c 'import torch; print((torch.version.cuda or "12").split(".")[0])')
  if [ -n "$(missing_modules tensorrt)" ]; then
    pip_install "tensorrt-cu${cuda_major}" || echo "check.sh: tensorrt-cu${cuda_major} not installed; the plan will be skipped" | tee -a "$OUT/install.log"
  fi
  if ! "$PYTHON" -c 'import onnxruntime, sys; sys.exit("CUDAExecutionProvider" not in onnxruntime.get_available_providers())' 2>/dev/null; then
    pip_install onnxruntime-gpu || echo "check.sh: onnxruntime-gpu not installed; ONNX artifacts are verified on the CPU" | tee -a "$OUT/install.log"
  fi
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"; } >"$WORK/gpu.txt"
budget=$((TOTAL_S - ($(date +%s) - started) - 15))
if [ "$budget" -lt 60 ]; then
  echo "check.sh: only ${budget}s left after installation, too little for the export" >&2
  exit 1
fi

set +e
# jepa_export verifies on clips preprocessed by jepa_media (media/): both from this checkout.
timeout --signal=INT --kill-after=10 "$budget" env PYTHONPATH="export:media${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 \
  "$PYTHON" -m jepa_export --random-vjepa2 "$PRESET" --no-text-encoder --out "$WORK/artifacts" --target gpu \
  --device "$DEVICE" --parity-batches 1 2 --timing-runs "$TIMING_RUNS" --max-batch-size 8 --tensorrt-opt-batch 4 \
  >"$OUT/export.log" 2>&1
status=$?
set -e

"$PYTHON" - "$WORK/artifacts/export_report.json" "$WORK/gpu.txt" "$status" "$(($(date +%s) - started))" "$PRESET" >"$OUT/summary.md" <<'PY'
import json, sys
from pathlib import Path

report_file, gpu_file, status, seconds, preset = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"# Export GPU check: V-JEPA 2 {preset}, random weights\n")
print(f"- GPU: {gpu_file.read_text().strip()}")
print(f"- export exit code: {status}" + (" (stopped at the time limit)" if status in (124, 130, 137) else ""))
print(f"- script seconds: {seconds}")
if not report_file.is_file():
    print("- no export_report.json: the export did not finish (see export.log)")
    sys.exit(0)
report = json.loads(report_file.read_text())
print(f"- torch {report['torch_version']}, onnxruntime {report['onnxruntime_version']}")
for model in report["models"]:
    print(f"- {model['name']}: {model['seconds']} s for export and verification; TensorRT {model['tensorrt_version'] or 'none'}")
    for step, reason in model["skipped"].items():
        print(f"- {step}: skipped: {reason}")
    print("\n| artifact | runtime | MB | min cosine | max abs diff | neighbours kept | batch | torch fp32 ms | artifact ms | verified |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for check in model["artifacts"]:
        cosine = min(min(result["min_cosine"], result["outputs_min_cosine"]) for result in check["parity"])
        diff = max(result["max_abs_diff"] for result in check["parity"])
        timing = [f"{check[key]:.2f}" if check[key] is not None else "-" for key in ("torch_ms", "artifact_ms")]
        print(f"| {check['artifact']} | {check['runtime']} | {check['size_bytes'] / 1e6:.0f} | {cosine:.6f} | {diff:.2e} | "
              f"{check['neighbours']['agreement']:.3f} | {check['timing_batch_size'] or '-'} | {timing[0]} | {timing[1]} | {'yes' if check['passed'] else 'NO'} |")
PY
if [ -f "$WORK/artifacts/export_report.json" ]; then cp "$WORK/artifacts/export_report.json" "$OUT/"; fi
cat "$OUT/summary.md"
exit "$status"
