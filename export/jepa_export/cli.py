"""`jepa-export`: the export stage's command. Its only link to the server is what it writes: a
model repository (checked by `jepa-serve check`) and, for the demo, media files."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from jepa_export.checkpoints import VJEPA2_PRESETS, CheckpointError, save_random_vjepa2
from jepa_export.demo.media import DemoMediaSettings, write_demo_media
from jepa_export.world.episodes import write_scene
from jepa_export.world.table import HELDOUT_SEEDS
from jepa_export.parity import ParityThresholds
from jepa_export.pipeline import run_export
from jepa_export.report import failed_artifacts
from jepa_export.repository import PRECISION_ARTIFACTS, Precision
from jepa_export.settings import ExportSettings, default_thresholds
from jepa_export.tensorrt_plan import TensorRTError

EXAMPLES = """examples:
  jepa-export --vjepa2 ~/models/vjepa2-vitl-fpc64-256 --out artifacts
  jepa-export --vjepa2 ~/models/vjepa2-vitl-fpc16-256-ssv2        # classifier: attentive-pooler embedding
  jepa-export --vjepa2 vitl.pt --weights target_encoder --vjepa2-config config.json   # official .pt
  jepa-export --random-vjepa2 tiny --out artifacts                # random weights, for trying it out
  jepa-export --vljepa models/vljepa-demo --out artifacts          # VL-JEPA: retrieval and captions
  jepa-export --text-encoder ~/models/embeddinggemma-300m          # text encoder only
  jepa-export --vjepa2 DIR --dynamic-frames --precision fp16 --target gpu
  jepa-export --vljepa models/vljepa-demo --target cpu --precision bf16 --tune   # bf16 behind the quality gate, layout measured
  jepa-export --vjepa2 DIR --target cpu --precision int8 --precision text_encoder=fp32 --build bf16
  jepa-export --vjepa2 DIR --threshold onnx_fp16.min_cosine=0.9995 --allow-drift
  jepa-export --vljepa models/vljepa-demo --world models/world-demo --target cpu   # plus the world model (Plan)
  jepa-export demo-media --checkpoint models/vljepa-demo --out artifacts/demo-media   # for `jepa-serve demo`
  jepa-export world-scene --seed 1000003 --out artifacts/scene   # now.png, goal.png, state.txt for `jepa plan`
Then load the repository in Triton and send one request per model: jepa-serve check artifacts/repository/cpu

exit codes: 0 exported and verified; 1 an artifact missed its thresholds (see export_report.json);
2 a checkpoint or option that cannot be used.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jepa-export",
        description=(
            "Export JEPA checkpoints to ONNX (fp32, fp16) and, on a GPU, TensorRT; verify every artifact "
            "against PyTorch fp32; write a Triton model repository and export_report.json."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    video = parser.add_mutually_exclusive_group()
    video.add_argument("--vjepa2", type=Path, help="V-JEPA 2: a local Hugging Face folder (config.json + safetensors) or an official .pt")
    video.add_argument("--random-vjepa2", choices=sorted(VJEPA2_PRESETS), help="a randomly initialised V-JEPA 2 of this size")
    video.add_argument("--vljepa", type=Path, help="a VL-JEPA checkpoint folder (e.g. models/vljepa-demo): video, text and caption models in one space")
    parser.add_argument("--world", type=Path, help="a world model: a checkpoint folder (e.g. models/world-demo) or an upstream vjepa2-ac .pt; adds the planning models")
    parser.add_argument("--weights", choices=["target_encoder", "encoder", "ema_encoder"], default="target_encoder", help="which encoder of an official .pt (default: target_encoder)")
    parser.add_argument("--vjepa2-config", type=Path, help="config.json for an official .pt (crop size, frames per clip, heads); default: the released geometry")
    parser.add_argument("--text-encoder", type=Path, help="local text encoder folder, sentence-transformers or plain AutoModel (default: bundled all-MiniLM-L6-v2)")
    parser.add_argument("--no-text-encoder", action="store_true", help="do not export a text encoder")
    parser.add_argument(
        "--text-matryoshka-dimensions", type=lambda text: [int(size) for size in text.split(",")], default=[], metavar="SIZES",
        help="smaller sizes the text encoder was trained to be cut to, e.g. 512,256,128 (clients may then ask for them)",
    )
    parser.add_argument("--out", type=Path, default=Path("artifacts"), help="output folder (default: artifacts)")
    parser.add_argument("--target", action="append", choices=["cpu", "gpu"], help="repository targets (default: both; a tensorrt repository is added when a plan is built)")
    parser.add_argument("--dynamic-frames", action="store_true", help="frame count as a variable axis (multiples of the tubelet size)")
    parser.add_argument("--max-frames", type=int, default=64, help="largest frame count with --dynamic-frames (default 64)")
    parser.add_argument(
        "--precision", action="append", default=[], metavar="[MODEL=]PRECISION",
        help="the version the repositories serve: fp32 (default), fp16, int8 or bf16 (both cpu target only); MODEL=PRECISION for one model",
    )
    parser.add_argument("--build", action="append", default=[], choices=list(PRECISION_ARTIFACTS), help="also build and verify this precision (unloaded version)")
    parser.add_argument("--no-fp16", action="store_true", help="do not build the fp16 ONNX")
    parser.add_argument("--tune", action="store_true", help="measure graph recipes, runtime, instances and threads per model here and write the fastest")
    parser.add_argument("--intra-op-threads", type=int, default=0, help="runtime threads per model instance, cpu target (default 0: all cores)")
    parser.add_argument("--no-tensorrt", action="store_true", help="do not build a TensorRT plan even on a GPU")
    parser.add_argument("--tensorrt-opt-batch", type=int, default=8, help="TensorRT profile: the batch size to optimise for (min 1, max --max-batch-size)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where PyTorch and ONNX Runtime run during verification")
    parser.add_argument("--threshold", action="append", default=[], metavar="ARTIFACT.FIELD=VALUE", help="e.g. onnx_fp16.min_cosine=0.9995 (fields: min_cosine, max_abs_diff, min_neighbour_agreement)")
    parser.add_argument("--allow-drift", action="store_true", help="write and exit 0 even when an artifact misses its thresholds")
    parser.add_argument("--timing-runs", type=int, default=0, help="time PyTorch and each artifact (median of N runs)")
    parser.add_argument("--parity-batches", type=int, nargs="+", default=[1, 4], metavar="B", help="random batch sizes verified (default: 1 4)")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-queue-delay-us", type=int, default=1000, help="Triton dynamic batching queue delay")
    parser.add_argument("--instances", type=int, default=1, help="Triton model instances per model")
    parser.add_argument("--no-warmup", action="store_true", help="no model_warmup in config.pbtxt")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", help="instead of exporting a model:")
    media = commands.add_parser(
        "demo-media", help="write the VL-JEPA demo's videos and ground truth (for `jepa-serve demo`)",
        description="Render the held-out demo gallery and multi-event videos as H.264 mp4 files, with demo.json (the ground truth).",
    )
    defaults = DemoMediaSettings()
    media.add_argument("--checkpoint", type=Path, default=defaults.checkpoint, help="VL-JEPA checkpoint whose clip geometry the videos follow (default %(default)s)")
    media.add_argument("--out", dest="media_out", type=Path, default=defaults.output_dir, help="output folder (default %(default)s)")
    media.add_argument("--clips-per-class", type=int, default=defaults.clips_per_class, help="gallery clips per class, 48 classes (default %(default)s)")
    media.add_argument("--event-videos", type=int, default=defaults.event_videos, help="multi-event videos (default %(default)s)")
    media.add_argument("--describe-videos", type=int, default=defaults.describe_videos, help="multi-event videos to caption (default %(default)s)")
    scene = commands.add_parser(
        "world-scene", help="write a held-out tabletop episode's observation, goal and state (for `jepa plan`)",
        description="Render the start (now.png) and goal (goal.png) of one held-out episode of a world model's demo world, and its effector state (state.txt).",
    )
    scene.add_argument("--checkpoint", type=Path, default=Path("models/world-demo"), help="world-model checkpoint whose world to render (default %(default)s)")
    scene.add_argument("--seed", type=int, default=HELDOUT_SEEDS[0], help="held-out episode seed (default %(default)s)")
    scene.add_argument("--out", dest="scene_out", type=Path, default=Path("artifacts/scene"), help="output folder (default %(default)s)")
    return parser


def world_scene(args: argparse.Namespace) -> int:
    try:
        written = write_scene(args.checkpoint, args.seed, args.scene_out)
    except (ValidationError, OSError, ValueError) as error:
        print(f"jepa-export world-scene: {error}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(map(str, written))}")
    return 0


def _thresholds(assignments: list[str]) -> dict[str, ParityThresholds]:
    thresholds = default_thresholds()
    for assignment in assignments:
        key, _, value = assignment.partition("=")
        artifact, _, field = key.partition(".")
        if artifact not in thresholds or field not in ParityThresholds.model_fields or not value:
            raise ValueError(f"--threshold: got {assignment!r}, expected ARTIFACT.FIELD=VALUE with ARTIFACT in {sorted(thresholds)}")
        thresholds[artifact] = thresholds[artifact].model_copy(update={field: float(value)})
    return thresholds


def _precisions(assignments: list[str]) -> tuple[Precision, dict[str, Precision]]:
    """`--precision int8 --precision text_encoder=fp32` -> ("int8", {"text_encoder": "fp32"})."""
    default: Precision = "fp32"
    per_model: dict[str, Precision] = {}
    for assignment in assignments:
        model, _, precision = assignment.rpartition("=")
        if precision not in PRECISION_ARTIFACTS:
            raise ValueError(f"--precision: got {assignment!r}, expected [MODEL=]PRECISION with PRECISION in {list(PRECISION_ARTIFACTS)}")
        if model:
            per_model[model] = precision
        else:
            default = precision
    return default, per_model


def demo_media(args: argparse.Namespace) -> int:
    try:
        settings = DemoMediaSettings(
            checkpoint=args.checkpoint, output_dir=args.media_out, clips_per_class=args.clips_per_class,
            event_videos=args.event_videos, describe_videos=args.describe_videos,
        )
        manifest = write_demo_media(settings)
    except (ValidationError, OSError) as error:
        print(f"jepa-export demo-media: {error}", file=sys.stderr)
        return 2
    print(f"wrote {manifest}; run the demo with: jepa-serve demo --repository REPOSITORY --media {settings.output_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo-media":
        return demo_media(args)
    if args.command == "world-scene":
        return world_scene(args)
    with tempfile.TemporaryDirectory() as scratch:
        try:
            vjepa2 = args.vjepa2
            if args.random_vjepa2:
                vjepa2 = save_random_vjepa2(Path(scratch) / f"vjepa2-{args.random_vjepa2}", args.random_vjepa2)
            precision, model_precisions = _precisions(args.precision)
            settings = ExportSettings(
                output_dir=args.out,
                vjepa2=vjepa2,
                vljepa=args.vljepa,
                world=args.world,
                vjepa2_weights=args.weights,
                vjepa2_config=args.vjepa2_config,
                text_encoder=args.text_encoder,
                export_text_encoder=not args.no_text_encoder,
                text_matryoshka_dimensions=args.text_matryoshka_dimensions,
                targets=args.target or ["cpu", "gpu"],
                dynamic_frames=args.dynamic_frames,
                max_frames_per_clip=args.max_frames,
                precision=precision,
                model_precisions=model_precisions,
                build_precisions=[p for p in dict.fromkeys(["fp16", *args.build]) if p != "fp16" or not args.no_fp16],
                tune=args.tune,
                intra_op_threads=args.intra_op_threads,
                tensorrt=not args.no_tensorrt,
                tensorrt_opt_batch_size=args.tensorrt_opt_batch,
                device=args.device,
                thresholds=_thresholds(args.threshold),
                allow_drift=args.allow_drift,
                timing_runs=args.timing_runs,
                parity_batch_sizes=args.parity_batches,
                max_batch_size=args.max_batch_size,
                max_queue_delay_microseconds=args.max_queue_delay_us,
                instance_count=args.instances,
                warmup=not args.no_warmup,
            )
        except (ValidationError, ValueError) as error:
            print(f"jepa-export: {error}", file=sys.stderr)
            return 2
        try:
            report = run_export(settings)
        except CheckpointError as error:
            print(f"jepa-export: {error}", file=sys.stderr)
            return 2
        except TensorRTError as error:
            print(f"jepa-export: {error}", file=sys.stderr)
            return 1
    failed = failed_artifacts(report)
    if failed and not settings.allow_drift:
        print(f"jepa-export: {', '.join(failed)} missed the verification thresholds; nothing written to the repository (see {args.out / 'export_report.json'}; --allow-drift to write anyway)", file=sys.stderr)
        return 1
    if "cpu" in settings.targets:
        print(f"load it in the local Triton, one request per model: jepa-serve check {args.out / 'repository' / 'cpu'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
