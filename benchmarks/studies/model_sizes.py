"""Study: production-sized V-JEPA 2 on this CPU. Random-initialised Hugging Face configurations at
the released sizes — ViT-L (300M, 16 frames, 256 px) and ViT-g (1B; its fp32 ONNX is over 2 GB,
so weights go to a sidecar) — exported with the product command (fp32, fp16, int8, each verified
against PyTorch), served by the local Triton behind the gateway, and measured: export time and
peak memory, Triton's peak memory and time to ready (model load and warm-up), clips/s, the
achieved GFLOP/s against this CPU's fp32 ceiling (square fp32 products in torch, measured in the
same run), and each precision's size and parity."""

from __future__ import annotations

import asyncio
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.calls import embed_video_call, gateway_client
from benchmarks.context import StudyContext
from benchmarks.loadgen import closed_loop
from benchmarks.eager import EagerWorker, matmul_ceiling_gflops
from benchmarks.models import client_frames, encoder_gflops
from benchmarks.processes import ProcessTreeMeter, ServedStack
from benchmarks.results import Table

PRESETS = ("vit-l", "vit-g")
_SAVE_SCRIPT = "import sys; from pathlib import Path; from jepa_export.checkpoints import save_random_vjepa2; save_random_vjepa2(Path(sys.argv[1]), sys.argv[2])"


def _metered(command: list[str]) -> tuple[int, float, float]:
    """Run `command`; its exit code, seconds and peak resident memory (MiB) with its children."""
    started = time.perf_counter()
    process = subprocess.Popen(command)
    meter = ProcessTreeMeter(process.pid, sample_interval_s=0.25)
    code = process.wait()
    meter.close()
    return code, time.perf_counter() - started, meter.peak_rss_mib


def encoder_parameters(checkpoint_dir: Path) -> tuple[int, dict]:
    """Encoder parameters counted from the safetensors header (no weights loaded), and config.json."""
    with open(checkpoint_dir / "model.safetensors", "rb") as weights:
        header = json.loads(weights.read(struct.unpack("<Q", weights.read(8))[0]))
    count = 0
    for name, entry in header.items():
        if name != "__metadata__" and not name.startswith("predictor."):
            size = 1
            for dim in entry["shape"]:
                size *= dim
            count += size
    return count, json.loads((checkpoint_dir / "config.json").read_text())


async def _clips_per_s(stack: ServedStack, repository: Path, seconds: float) -> float:
    async with gateway_client(stack.gateway_address) as client:
        call = embed_video_call(client, client_frames(repository / "vjepa2_encoder"), model="vjepa2_encoder")
        tally = await closed_loop(call, 1, seconds, 0.0, stack.meters)
    return tally.items / seconds if tally.items else 1 / seconds  # at least one clip was in flight


def run(context: StudyContext) -> Path:
    settings = context.settings
    result = context.new_result(
        "model_sizes", "Production-sized V-JEPA 2 on this CPU",
        "Do the released ViT-L and ViT-g sizes export, verify and serve on 2 CPU cores, and at what cost?",
    )
    rows, table = [], []
    with EagerWorker() as worker:
        ceiling = matmul_ceiling_gflops(worker, settings.duration_s)
    for preset in PRESETS:
        scratch = context.scratch(f"model_sizes/{preset}")
        checkpoint = scratch / "checkpoint"
        if not (checkpoint / "model.safetensors").is_file():
            subprocess.run([sys.executable, "-c", _SAVE_SCRIPT, str(checkpoint), preset], check=True)
        params, config = encoder_parameters(checkpoint)
        output_dir = scratch / "export"
        code, export_s, export_peak = _metered([
            sys.executable, "-m", "jepa_export", "--vjepa2", str(checkpoint), "--no-text-encoder", "--out", str(output_dir),
            "--target", "cpu", "--no-tensorrt", "--build", "int8", "--parity-batches", "1",
        ])
        report = json.loads((output_dir / "export_report.json").read_text())
        (model,) = report["models"]
        artifacts = {artifact["artifact"]: artifact for artifact in model["artifacts"]}
        repository = output_dir / "repository" / "cpu"
        started = time.perf_counter()
        # The gateway's deadline covers one clip of the largest model on 2 cores.
        gateway_env = {"JEPA_TRITON_TIMEOUT_S": "600"}
        with ServedStack(repository, scratch / "logs", gateway_env, startup_timeout_s=3600) as stack:
            load_s = time.perf_counter() - started
            clips_per_s = asyncio.run(_clips_per_s(stack, repository, settings.model_size_seconds))
            triton_peak = stack.peak_rss_mib()["triton"]
        gflops = encoder_gflops(config)
        row = {
            "preset": preset, "params": params, "export_exit_code": code, "export_s": round(export_s, 1), "export_peak_mib": round(export_peak),
            "triton_peak_mib": round(triton_peak), "load_s": round(load_s, 1), "clips_per_s": round(clips_per_s, 4),
            "gflop_per_clip": round(gflops, 1), "gflops_per_s": round(gflops * clips_per_s, 1),
            "matmul_ceiling_gflops": round(ceiling, 1), "share_of_matmul_ceiling": round(gflops * clips_per_s / ceiling, 3),
            "min_cosine": min(min(r["min_cosine"], r["outputs_min_cosine"]) for r in artifacts["onnx_fp32"]["parity"]),
            "precisions": {
                name: {"size_mb": round(artifact["size_bytes"] / 1e6), "passed": artifact["passed"],
                       "min_cosine": min(min(r["min_cosine"], r["outputs_min_cosine"]) for r in artifact["parity"] if r["judged"])}
                for name, artifact in artifacts.items()
            },
        }
        rows.append(row)
        table.append([
            preset, f"{params / 1e6:.0f}M", row["export_s"], row["export_peak_mib"], row["triton_peak_mib"], row["load_s"], row["clips_per_s"],
            row["gflops_per_s"], f"{row['share_of_matmul_ceiling']:.0%}", f"{row['min_cosine']:.6f}",
            ", ".join(f"{name} {p['size_mb']} MB cos {p['min_cosine']:.4f}{'' if p['passed'] else ' REFUSED'}" for name, p in row["precisions"].items()),
        ])
    result.rows = rows
    result.tables.append(Table(
        title="ViT-L and ViT-g, random weights, 16 frames, 256 px, one instance on all cores",
        columns=["model", "params", "export s", "export peak MiB", "Triton peak MiB", "Triton ready s", "clips/s", "GFLOP/s", "of fp32 matmul ceiling", "fp32 min cosine", "artifacts"],
        rows=table,
    ))
    result.notes.append(f"{os.cpu_count()} cores; Triton ready = start to ready, model load and one warm-up clip included")
    return context.finish(result)
