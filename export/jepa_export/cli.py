"""`jepa-serve export`: command line of the export stage (`python -m jepa_export`)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from jepa_export.checkpoints import VJEPA2_PRESETS, CheckpointError, save_random_vjepa2
from jepa_export.pipeline import ExportSettings, run_export

EXAMPLES = """examples:
  jepa-serve export --vjepa2 ~/models/vjepa2-vitl-fpc64-256 --out artifacts
  jepa-serve export --random-vjepa2 tiny --out artifacts      # random weights, for trying it out
  jepa-serve export --vjepa2 DIR --no-text-encoder --target gpu
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa-serve export",
        description="Export JEPA checkpoints to ONNX, verify them against PyTorch and write a Triton model repository.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    video = parser.add_mutually_exclusive_group()
    video.add_argument("--vjepa2", type=Path, help="local Hugging Face V-JEPA 2 folder (config.json + safetensors)")
    video.add_argument("--random-vjepa2", choices=sorted(VJEPA2_PRESETS), help="a randomly initialised V-JEPA 2 of this size")
    parser.add_argument("--text-encoder", type=Path, help="local Hugging Face text encoder folder (default: bundled all-MiniLM-L6-v2)")
    parser.add_argument("--no-text-encoder", action="store_true", help="do not export a text encoder")
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help="output folder (default: artifacts)")
    parser.add_argument("--target", action="append", choices=["cpu", "gpu"], help="repository targets (default: both)")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-queue-delay-us", type=int, default=1000, help="Triton dynamic batching queue delay")
    parser.add_argument("--instances", type=int, default=1, help="Triton model instances per model")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            vjepa2 = args.vjepa2
            if args.random_vjepa2:
                vjepa2 = save_random_vjepa2(Path(scratch) / f"vjepa2-{args.random_vjepa2}", args.random_vjepa2)
            settings = ExportSettings(
                output_dir=args.out,
                vjepa2=vjepa2,
                text_encoder=args.text_encoder,
                export_text_encoder=not args.no_text_encoder,
                targets=args.target or ["cpu", "gpu"],
                max_batch_size=args.max_batch_size,
                max_queue_delay_microseconds=args.max_queue_delay_us,
                instance_count=args.instances,
            )
            report = run_export(settings)
    except CheckpointError as error:
        print(f"jepa-serve export: {error}", file=sys.stderr)
        return 2
    if not report.passed:
        print("jepa-serve export: an artifact missed the parity threshold (see export_report.json)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
