"""Selective vs uniform captioning through the served VL-JEPA (`Describe`), on held-out multi-event
demo videos (several events back to back, known boundaries).

- `decoder_calls_*`: captions decoded (uniform: one per window; selective: one per segment).
- `accuracy_*`: fraction of event time whose caption names the event's shape, colour and direction.
- `boundary_hit_rate`: true event boundaries with a selective segment boundary within one window.

    python -m benchmarks.describe_eval --repository artifacts/repository/cpu --checkpoint models/vljepa-demo
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel

from benchmarks.processes import add_gateway_target, served_client
from jepa_client import Caption, Client
from jepa_export.demo import MultiEventSettings, MultiEventVideo, RenderSettings, generate_multi_event_video, write_mp4
from jepa_export.demo.render import Split
from jepa_export.vljepa.config import CONFIG_FILE, VLJepaConfig

DEFAULT_RESULTS = Path("benchmarks/results/describe.json")
DEMO_FPS = 8.0


class DescribeEvalSettings(BaseModel):
    checkpoint: Path = Path("models/vljepa-demo")
    videos: int = 24
    split: Split = "heldout"
    first_seed: int = 20_000
    threshold: float = 0.0  # 0 = the server's default
    segmentation: str = ""  # "" = offline for whole videos


def correct_time_fraction(video: MultiEventVideo, captions: list[Caption]) -> tuple[int, int]:
    """(frames whose covering caption names the true event, frames) over the whole video."""
    correct = 0
    for frame_index in range(len(video.frames)):
        seconds = (frame_index + 0.5) / video.fps
        covering = next((caption for caption in captions if caption.start_seconds <= seconds < caption.end_seconds), None)
        correct += covering is not None and video.event_at(frame_index).attributes.named_in(covering.text)
    return correct, len(video.frames)


def boundary_hits(video: MultiEventVideo, captions: list[Caption], window_seconds: float) -> tuple[int, int]:
    predicted = [caption.start_seconds for caption in captions[1:]]
    truth = [event.start_seconds for event in video.events[1:]]
    return sum(any(abs(found - true) <= window_seconds + 1e-6 for found in predicted) for true in truth), len(truth)


def evaluate(client: Client, settings: DescribeEvalSettings, scratch: Path) -> dict:
    preprocessing = VLJepaConfig.model_validate_json((settings.checkpoint / CONFIG_FILE).read_text()).preprocessing
    render = RenderSettings(frames_per_clip=preprocessing.frames_per_clip, frame_size=preprocessing.crop_size)
    window_seconds = preprocessing.frames_per_clip / DEMO_FPS
    totals = {"calls_selective": 0, "calls_uniform": 0, "correct_selective": 0, "correct_uniform": 0, "frames": 0, "hits": 0, "boundaries": 0}
    for position in range(settings.videos):
        video = generate_multi_event_video(settings.split, settings.first_seed + position, MultiEventSettings(fps=DEMO_FPS), render)
        path = write_mp4(video.frames, scratch / f"events_{position:02d}.mp4", fps=video.fps)
        selective = list(client.describe(path, mode="selective", threshold=settings.threshold, segmentation=settings.segmentation))
        uniform = list(client.describe(path, mode="uniform", threshold=settings.threshold, segmentation=settings.segmentation))
        totals["calls_selective"] += len(selective)
        totals["calls_uniform"] += len(uniform)
        for mode, captions in (("selective", selective), ("uniform", uniform)):
            correct, frames = correct_time_fraction(video, captions)
            totals[f"correct_{mode}"] += correct
        totals["frames"] += frames
        hits, boundaries = boundary_hits(video, selective, window_seconds)
        totals["hits"] += hits
        totals["boundaries"] += boundaries
        if position == 0:
            print("truth:    " + " | ".join(f"{e.start_seconds:.1f}-{e.end_seconds:.1f} {e.caption}" for e in video.events))
            print("selective: " + " | ".join(f"{c.start_seconds:.1f}-{c.end_seconds:.1f} {c.text}" for c in selective))
    return {
        "decoder_calls_selective": totals["calls_selective"],
        "decoder_calls_uniform": totals["calls_uniform"],
        "decoder_call_reduction": totals["calls_uniform"] / max(1, totals["calls_selective"]),
        "accuracy_selective": totals["correct_selective"] / totals["frames"],
        "accuracy_uniform": totals["correct_uniform"] / totals["frames"],
        "boundary_hit_rate": totals["hits"] / max(1, totals["boundaries"]),
        "videos": settings.videos,
        "split": settings.split,
        "threshold": settings.threshold or "server default",
        "checkpoint": str(settings.checkpoint),
    }


def _summary(results: dict) -> str:
    return (
        f"threshold {results['threshold']}: decoder calls selective {results['decoder_calls_selective']} vs uniform "
        f"{results['decoder_calls_uniform']} ({results['decoder_call_reduction']:.2f}x fewer); accuracy selective "
        f"{results['accuracy_selective']:.3f} vs uniform {results['accuracy_uniform']:.3f}; boundaries hit {results['boundary_hit_rate']:.1%}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_gateway_target(parser)
    parser.add_argument("--checkpoint", type=Path, default=DescribeEvalSettings().checkpoint)
    parser.add_argument("--videos", type=int, default=DescribeEvalSettings().videos)
    parser.add_argument("--split", choices=["train", "heldout"], default="heldout", help="train: for tuning the threshold")
    parser.add_argument("--threshold", type=float, default=0.0)
    parser.add_argument("--sweep", type=float, nargs="+", help="evaluate each of these thresholds; writes {runs: [...]} (choose on --split train)")
    parser.add_argument("--segmentation", choices=["", "online", "offline"], default="")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args(argv)
    settings = DescribeEvalSettings(
        checkpoint=args.checkpoint, videos=args.videos, split=args.split, threshold=args.threshold, segmentation=args.segmentation
    )
    thresholds = args.sweep or [settings.threshold]
    with tempfile.TemporaryDirectory(prefix="describe-eval-") as scratch, served_client(args.address, args.repository, Path(scratch)) as client:
        runs = [evaluate(client, settings.model_copy(update={"threshold": threshold}), Path(scratch)) for threshold in thresholds]
    results = {"runs": runs} if args.sweep else runs[0]
    results["command"] = shlex.join(["python", "-m", "benchmarks.describe_eval", *(sys.argv[1:] if argv is None else argv)])
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    for run in runs:
        print(_summary(run))
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
